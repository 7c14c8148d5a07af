"""Jobs: read members list, view, download logs and open notebooks; "all" members create, start,
stop and remove. The list and create act in the active project (`as_active`); one job's URLs act
in the job's own project whatever is active, so they are asked with each person's Personal
project active (a link from a colleague works; an outsider still gets 404)."""

from tests.access.spec import OWNER_ADMIN, TYPE_MANAGE, TYPE_READ, Route, builder, expect

# The outsider's session never points at the world's project: list and create act in the
# outsider's own Personal project (allowed there, nothing of the world's project shown).
LIST_READ = expect("ok", "ok", "ok", 404, "ok")
CREATE_MANAGE = expect("ok", "ok", 403, 404, "ok")


def _job(w, **extra):
    from compute.models import GpuType
    from resources.models import Job

    return Job.objects.create(project=w.project, name="matrix job", gpu_type=GpuType.objects.get(slug="cpu"),
                              command="echo hi", created_by=w.people["owner"], **extra)


@builder("job")
def _new_job(w):
    return _job(w)


@builder("notebook")
def _running_notebook(w):
    """A notebook its agent reports as running (no process needed: Open only redirects)."""
    from django.utils import timezone

    from resources.models import JobStatus, JobType
    from tests.factories import make_node

    return _job(w, type=JobType.NOTEBOOK, status=JobStatus.RUNNING,
                node=make_node(gpu_type="cpu", agent_url="http://node.example:8101"), started_at=timezone.now(), last_heartbeat=timezone.now())


pk = lambda w: {"pk": w.job.pk}  # noqa: E731

ROUTES = {
    "resources:job-list": Route(get=LIST_READ, as_active=True),
    "resources:job-create": Route(get=CREATE_MANAGE, post=CREATE_MANAGE, as_active=True),
    "resources:job-detail": Route(kwargs=pk, get=TYPE_READ),
    "resources:job-log": Route(kwargs=pk, get=TYPE_READ),
    "resources:job-log-part": Route(kwargs=pk, get=TYPE_READ),
    "resources:job-open": Route(kwargs=lambda w: {"pk": w.notebook.pk}, get=TYPE_READ),
    "resources:job-start": Route(kwargs=pk, post=TYPE_MANAGE),
    "resources:job-stop": Route(kwargs=pk, post=TYPE_MANAGE),
    # Run again / Copy to new job: a new job in the job's project, so "all" on jobs.
    "resources:job-run-again": Route(kwargs=pk, post=TYPE_MANAGE),
    "resources:job-copy": Route(kwargs=pk, get=TYPE_MANAGE),
    "resources:job-remove": Route(kwargs=pk, get=TYPE_MANAGE, post=TYPE_MANAGE),
    # What stays on public compute once "only owned compute" is on: the owner's page and choice.
    "resources:public-leftovers": Route(kwargs=lambda w: {"project_id": w.project.pk}, get=OWNER_ADMIN),
    "resources:public-leftovers-choose": Route(kwargs=lambda w: {"project_id": w.project.pk}, post=OWNER_ADMIN,
                                               data=lambda w: {"choice": "keep"}),
    # The owner's stop of a job someone who left started: project administration.
    "resources:former-member-job-stop": Route(kwargs=lambda w: {"project_id": w.project.pk, "pk": w.job.pk},
                                              post=OWNER_ADMIN),
}
