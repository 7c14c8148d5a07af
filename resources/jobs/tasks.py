"""Jobs through Django's Tasks API: `manage.py db_worker --queue-name jobs` runs them."""

from django_tasks import task


@task(queue_name="jobs")
def run_job(job_id: str) -> str:
    """Run a placed ("starting") job on this node until it ends."""
    from resources.jobs.runner import run_job as run

    return run(job_id)
