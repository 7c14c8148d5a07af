"""Files follow their rows: a dataset or model deleted in any way (its own delete, or its project's,
by cascade) has its files deleted from the storage once the deletion commits."""

import logging

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from resources import storage
from resources.models import Dataset, MLModel

logger = logging.getLogger(__name__)


def _delete_files_later(resource) -> None:
    prefix, store = resource.storage_prefix, resource.file_storage

    def delete():
        try:
            storage.delete_tree(prefix, store)
        except Exception:  # the rows are gone: a leftover file must not fail the request
            logger.exception("could not delete the files under %s", prefix)

    transaction.on_commit(delete)


@receiver(post_delete, sender=Dataset, dispatch_uid="resources.dataset_files")
@receiver(post_delete, sender=MLModel, dispatch_uid="resources.model_files")
def delete_files_with_the_row(sender, instance, **kwargs):
    _delete_files_later(instance)
