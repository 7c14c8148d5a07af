"""API matrix rows for jobs. The matrix sends `X-Trainshed-Project: <the world's project>`: read
access lists, shows and reads logs; "all" creates, starts, stops and removes; a read member gets
403 on those; a "none" member, an outsider and a key limited to another project get 404 (the
job lives in the world's project, so for them it is another project's job)."""

from tests.access.routes_api import ApiRoute, api_expect

JOBS_READ = api_expect(200, 200, 200, 404, 404, read_only=200, other_project=404)
JOBS_MANAGE = api_expect("ok", "ok", 403, 404, 404, read_only=403, other_project=404)


def _compute(w) -> None:
    """A public cpu node, and the world's project allowed to use it."""
    if "_jobs_compute" in w.__dict__:
        return
    from compute.services import project_gpu_types_refresh
    from tests.factories import make_node

    make_node(gpu_type="cpu", gpus=2)
    project_gpu_types_refresh(project=w.project, actor=None)
    w._jobs_compute = True


def _job(*, started: bool = False):
    def kwargs(w):
        from resources.jobs import services

        _compute(w)
        made = w.__dict__.setdefault("_api_jobs", {})
        if started not in made:
            job = services.job_create(project=w.project, actor=w.people["owner"], name="matrix job",
                                      type="training", gpu_type="cpu", gpu_count=1, command="echo hi")
            if started:
                services.job_start(job=job, actor=None)
            made[started] = job
        return {"job_id": made[started].pk}

    return kwargs


def _ready(w):
    _compute(w)
    return {}


NEW = _job()
STARTED = _job(started=True)

API_ROUTES = {
    "GET /jobs": ApiRoute(expected=JOBS_READ, path_kwargs=NEW),
    "POST /jobs": ApiRoute(expected=JOBS_MANAGE, path_kwargs=_ready, body={
        "name": "made by the matrix", "type": "training", "gpu_type": "cpu", "gpu_count": 1,
        "command": "echo hi", "env": {"EPOCHS": "3"}}),
    "GET /jobs/{job_id}": ApiRoute(expected=JOBS_READ, path_kwargs=NEW),
    "DELETE /jobs/{job_id}": ApiRoute(expected=JOBS_MANAGE, path_kwargs=STARTED),
    "POST /jobs/{job_id}/start": ApiRoute(expected=JOBS_MANAGE, path_kwargs=NEW),
    "POST /jobs/{job_id}/stop": ApiRoute(expected=JOBS_MANAGE, path_kwargs=STARTED),
    "POST /jobs/{job_id}/copy": ApiRoute(expected=JOBS_MANAGE, path_kwargs=STARTED,
                                         body={"name": "copied by the matrix"}),
    "GET /jobs/{job_id}/logs": ApiRoute(expected=JOBS_READ, path_kwargs=STARTED),
}
