"""A run's first output line goes to the control plane as soon as the agent reads it: it is the
run's first request after the claim (no heartbeat, no batching interval before it). The agent's
own notes before it, and the batching of later output: tests/agent/test_log.py."""

import pytest

from resources.jobs import services
from resources.models import JobStatus
from tests.jobs.test_node_agents import _catalogue  # noqa: F401  (an autouse fixture)
from tests.jobs_helpers import agent_for, local_node, make_job, ready


def _recording(agent) -> list[tuple[str, str, dict | None]]:
    calls: list[tuple[str, str, dict | None]] = []
    call = agent.control.call

    def record(method, path, **kw):
        calls.append((method, path, kw.get("json")))
        return call(method, path, **kw)

    agent.control.call = record
    return calls


def test_the_first_line_is_the_runs_first_request(owner, project, tmp_path):
    agent = agent_for(local_node(tmp_path), tmp_path)
    if not agent.can_sandbox:
        pytest.skip(f"this machine cannot sandbox jobs: {agent.sandbox_reason}")
    ready(project)
    job = make_job(project, owner, command="echo ready\nsleep 2\necho done")
    services.job_start(job=job, actor=owner)
    calls = _recording(agent)

    assert agent.run_claimed() == JobStatus.FINISHED
    after_claim = [(method, path, body) for method, path, body in calls if path != "/claim"]
    method, path, body = after_claim[0]
    assert (method, path) == ("POST", f"/jobs/{job.pk}/log")
    assert body == {"seq": 1, "text": "ready\n"}  # not batched with the line 2 s later
    # while the job slept, it beat (the claim counted as its first heartbeat)
    assert any(path == f"/jobs/{job.pk}/heartbeat" for _, path, _ in after_claim)
    assert after_claim[-1][1] == f"/jobs/{job.pk}/end"


def test_the_last_lines_are_stored_before_the_output_is_uploaded(owner, project, tmp_path):
    # A follower sees the job's end when its command ends, not after its model's upload.
    agent = agent_for(local_node(tmp_path), tmp_path)
    ready(project)
    job = make_job(project, owner, command="echo first\nsleep 1\necho w > output/w.bin\necho last",
                   output_type="model")
    services.job_start(job=job, actor=owner)
    calls = _recording(agent)

    assert agent.run_claimed() == JobStatus.FINISHED
    paths = [(path, (body or {}).get("text", "")) for _, path, body in calls]
    last_line = next(i for i, (path, text) in enumerate(paths) if path.endswith("/log") and "last" in text)
    upload = paths.index((f"/jobs/{job.pk}/output", ""))
    assert last_line < upload
    assert "Saved output/ as the model" in "".join(text for _, text in paths[upload:])
