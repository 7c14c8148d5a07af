from django.db.models.signals import post_save
from django.dispatch import receiver

from compute.models import ComputeNode
from compute.services import project_gpu_types_refresh
from projects.models import Project
from projects.signals import owned_compute_changed, ownership_accepting


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


@receiver(ownership_accepting, dispatch_uid="compute.owned_only_without_nodes")
def warn_owned_only_without_nodes(sender, project: Project, user, **kwargs) -> str | None:
    """An owned-compute-only project runs and stores only on its owner's nodes: a new owner with
    no online node would leave its jobs unable to start."""
    if not project.owned_compute_only or ComputeNode.objects.filter(owner=user).online().exists():
        return None
    return ("This project uses only its owner's compute, and you have no online node of your own: "
            "once you own it, its jobs cannot start and new datasets and models cannot be stored "
            "until you add a node (or turn the setting off).")
