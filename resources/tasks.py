"""Background work of datasets and models, through Django's Tasks API (`manage.py db_worker`)."""

from django_tasks import task


@task(queue_name="downloads")  # settings.TRAINSHED_DOWNLOADS_QUEUE; never beside accrual
def fetch_resource(kind: str, resource_id: str) -> str:
    """Download a dataset or model created from a URL: new → downloading → ready / failed."""
    from resources.services import resource_fetch

    return resource_fetch(kind=kind, resource_id=resource_id)
