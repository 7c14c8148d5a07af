from django.db.models.signals import post_save
from django.dispatch import receiver

from compute.services import project_gpu_types_refresh
from projects.models import Project
from projects.signals import owned_compute_changed


@receiver(post_save, sender=Project, dispatch_uid="compute.initial_gpu_types")
def store_initial_gpu_types(sender, instance: Project, created: bool, raw: bool = False, **kwargs):
    """A new shared project starts with the GPU types available when it was created, so reading
    the list never has to write."""
    if created and not raw and not instance.is_personal:
        project_gpu_types_refresh(project=instance, actor=None)


@receiver(owned_compute_changed, dispatch_uid="compute.refresh_on_owned_only")
def refresh_gpu_types_on_owned_only(sender, project: Project, actor, **kwargs):
    """Turning "only owned compute" on or off changes which GPU types the project may use: the
    list is refreshed at once (the refresh button stays for nodes that come and go later)."""
    project_gpu_types_refresh(project=project, actor=actor)
