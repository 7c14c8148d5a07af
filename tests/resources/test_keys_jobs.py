"""What a job gets: its keys and secrets as environment variables, and logs with every value ***."""

import json
import os
import stat
import subprocess
import sys

import pytest

from projects import keys

pytestmark = pytest.mark.django_db

HF = "hf_CANARYtoken0123456789abcd"
AWS = "aws/CANARY+secret0123456789WXYZ"
SECRET = "CANARY-wandb-0a1b2c3d4e5f9876"
GCP_PRIVATE_KEY = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvQCANARYprivatekeybody0123456789\n-----END PRIVATE KEY-----\n"
)
GCP_JSON = json.dumps({
    "type": "service_account", "project_id": "vision-123", "private_key_id": "abcdef0123456789",
    "private_key": GCP_PRIVATE_KEY, "client_email": "trainer@vision-123.iam.gserviceaccount.com",
})


@pytest.fixture
def configured(project, owner):
    keys.key_set(project=project, kind="huggingface", public={}, secret=HF, actor=owner)
    keys.key_set(project=project, kind="aws", public={"key_id": "AKIAJOB"}, secret=AWS, actor=owner)
    keys.key_set(project=project, kind="gcp", public={"project_id": ""}, secret=GCP_JSON, actor=owner)
    keys.key_set(project=project, kind="docker", public={"username": "olivia", "registry": "nvcr.io"},
                 secret="docker-pass-1234", actor=owner)
    keys.secret_set(project=project, name="WANDB_API_KEY", value=SECRET, actor=owner)
    return project


def test_job_environment_names_what_each_tool_expects(configured, tmp_path):
    env = keys.job_environment(project=configured, workspace=tmp_path)
    path = tmp_path.resolve() / ".trainshed" / "gcp-credentials.json"
    assert env == {
        "HF_TOKEN": HF,
        "AWS_ACCESS_KEY_ID": "AKIAJOB", "AWS_SECRET_ACCESS_KEY": AWS,
        "GOOGLE_CLOUD_PROJECT": "vision-123",  # read from the key file
        "GOOGLE_APPLICATION_CREDENTIALS": str(path),
        "DOCKER_USERNAME": "olivia", "DOCKER_REGISTRY": "nvcr.io", "DOCKER_PASSWORD": "docker-pass-1234",
        "WANDB_API_KEY": SECRET,
    }
    assert json.loads(path.read_text())["private_key"] == GCP_PRIVATE_KEY
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_real_job_reads_its_keys_and_its_log_comes_out_redacted(configured, tmp_path):
    env = keys.job_environment(project=configured, workspace=tmp_path)
    script = (
        "import os, json\n"
        "print('hf', os.environ['HF_TOKEN'])\n"
        "print('aws', os.environ['AWS_ACCESS_KEY_ID'], os.environ['AWS_SECRET_ACCESS_KEY'])\n"
        "print('wandb=' + os.environ['WANDB_API_KEY'] + ';')\n"
        "creds = json.load(open(os.environ['GOOGLE_APPLICATION_CREDENTIALS']))\n"
        "print('gcp', creds['client_email'])\n"
        "print(creds['private_key'])\n"
        "print(open(os.environ['GOOGLE_APPLICATION_CREDENTIALS']).read())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env={"PATH": os.environ.get("PATH", ""), **env},
        cwd=tmp_path, capture_output=True, text=True, timeout=30, check=True,
    )
    assert HF in result.stdout and SECRET in result.stdout  # the job really got them

    log = keys.redactor(project=configured)(result.stdout)

    lines = log.splitlines()
    assert lines[0] == "hf ***"
    assert lines[1] == "aws AKIAJOB ***"  # the key id is not a secret
    assert lines[2] == "wandb=***;"
    assert lines[3] == "gcp trainer@vision-123.iam.gserviceaccount.com"
    for value in (HF, AWS, SECRET, "MIIEvQCANARYprivatekeybody0123456789", "abcdef0123456789"):
        assert value not in log
    assert "CANARY" not in log


def test_redactor_without_keys_changes_nothing(project):
    assert keys.redactor(project=project)("nothing to hide") == "nothing to hide"


def test_redactor_hides_the_longer_of_overlapping_values_whole(project, owner):
    keys.secret_set(project=project, name="SHORT", value="abcd1234", actor=owner)
    keys.secret_set(project=project, name="LONG", value="abcd1234-and-more", actor=owner)
    assert keys.redactor(project=project)("x abcd1234-and-more y abcd1234") == "x *** y ***"
