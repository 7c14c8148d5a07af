"""How jobs react to other apps without those apps importing them."""

from django.dispatch import receiver

from compute.signals import capacity_freed
from projects.signals import member_removed, project_deleting
from resources.jobs.removal import jobs_end_for_former_member
from resources.jobs.services import jobs_place_waiting
from resources.models import JOB_ON_NODE, Dataset, Job, MLModel
from resources.services import resource_delete_veto


@receiver(capacity_freed, dispatch_uid="jobs.place_waiting")
def place_waiting_jobs(sender, **kwargs):
    jobs_place_waiting()


@receiver(project_deleting, dispatch_uid="jobs.refuse_project_delete")
def refuse_project_delete_while_running(sender, project, **kwargs):
    running = list(Job.objects.in_project(project).filter(status__in=JOB_ON_NODE)
                   .values_list("name", flat=True)[:3])
    if running:
        return f"A job of this project is running ({', '.join(running)}): stop it first."
    return None


@receiver(resource_delete_veto, dispatch_uid="jobs.refuse_input_delete")
def refuse_input_delete_while_running(sender, resource, **kwargs):
    jobs = Job.objects.filter(status__in=JOB_ON_NODE, removed_at__isnull=True)
    if isinstance(resource, Dataset):
        jobs, what = jobs.filter(input_datasets=resource), "dataset"
    elif isinstance(resource, MLModel):
        jobs, what = jobs.filter(input_model=resource), "model"
    else:
        return None
    names = list(jobs.values_list("name", flat=True)[:3])
    if names:
        return f"A running job uses this {what}: {', '.join(names)}. Stop it first."
    return None


@receiver(member_removed, dispatch_uid="jobs.end_former_members_jobs")
def end_former_members_jobs(sender, project, user, actor, stop_running=False, **kwargs):
    jobs_end_for_former_member(project=project, user=user, actor=actor, stop_running=stop_running)
