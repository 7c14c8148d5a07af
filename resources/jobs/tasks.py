"""Jobs through Django's Tasks API, on the queue of the node each was placed on
(`ComputeNode.job_queue`): `manage.py jobs worker` on that node runs them."""

from django_tasks import task


@task(queue_name="jobs")
def run_job(job_id: str) -> str:
    """Run a placed ("starting") job on this node until it ends."""
    from resources.jobs.runner import run_job as run

    return run(job_id)
