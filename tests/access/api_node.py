"""The node-scoped API: an account's API key (any role's) is not a node token, so every call is
401 before anything is looked up (the node tokens' own refusals: tests/jobs/test_node_agents.py)."""

from tests.access.routes_api import ApiRoute, api_expect

NOT_A_NODE = api_expect(401, 401, 401, 401, 401, read_only=401, other_project=401)
_JOB = {"path_kwargs": lambda w: {"job_id": w.project.pk}}

API_ROUTES = {
    "POST /node/heartbeat": ApiRoute(expected=NOT_A_NODE, body={}),
    "POST /node/offline": ApiRoute(expected=NOT_A_NODE),
    "POST /node/claim": ApiRoute(expected=NOT_A_NODE),
    "GET /node/jobs/{job_id}/spec": ApiRoute(expected=NOT_A_NODE, **_JOB),
    "POST /node/jobs/{job_id}/log": ApiRoute(expected=NOT_A_NODE, body={"seq": 1, "text": "x"}, **_JOB),
    "POST /node/jobs/{job_id}/heartbeat": ApiRoute(expected=NOT_A_NODE, body={}, **_JOB),
    "POST /node/jobs/{job_id}/end": ApiRoute(expected=NOT_A_NODE, body={"status": "finished"}, **_JOB),
    "GET /node/jobs/{job_id}/inputs/{input_id}": ApiRoute(
        expected=NOT_A_NODE, path_kwargs=lambda w: {"job_id": w.project.pk, "input_id": w.project.pk}),
    "POST /node/jobs/{job_id}/output": ApiRoute(expected=NOT_A_NODE, **_JOB),
    "POST /node/notebook-access": ApiRoute(expected=NOT_A_NODE, body={"job_id": "x", "user_id": 1}),
}
