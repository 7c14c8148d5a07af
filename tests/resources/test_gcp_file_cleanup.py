"""A Google Cloud credentials file exists in the job's workspace only while the job runs: the
node's agent deletes it when the run ends, so it neither lingers with the job's files nor
outlives the key's removal."""

import pytest

from projects import keys
from resources.jobs import selectors, services
from resources.models import JobStatus
from tests.jobs_helpers import agent_for, local_node, make_job, ready, seed_gpu_types
from tests.resources.test_keys_jobs import GCP_JSON


@pytest.fixture(autouse=True)
def _catalogue(db):
    seed_gpu_types()


def test_the_gcp_credentials_file_is_gone_when_the_run_ends(owner, project, tmp_path):
    keys.key_set(project=project, kind="gcp", public={"project_id": ""}, secret=GCP_JSON, actor=owner)
    node = local_node(tmp_path)
    ready(project)
    agent = agent_for(node, tmp_path)
    job = make_job(project, owner, command='test -s "$GOOGLE_APPLICATION_CREDENTIALS" && echo present')
    services.job_start(job=job, actor=owner)
    assert agent.run_claimed() == JobStatus.FINISHED
    assert "present" in selectors.job_log_tail(job=job)  # it was there while the job ran
    assert not list((tmp_path / "agent").rglob("gcp-credentials.json"))
