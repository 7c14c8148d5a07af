"""Factories that can only build rows inside one project's world.

Accounts are created through the service, so every account has its Personal project and billing
account, exactly as in production.
"""

import factory

from accounts.models import User
from accounts.services import user_create
from projects import services as project_services
from projects.middleware import SESSION_KEY
from projects.models import Project

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Sequence(lambda n: f"Person {n}")

    @classmethod
    def _create(cls, model_class, *args, credits=1000, **kwargs):
        """Accounts start with `credits` (1000 by default, 0 for none) so that spending is
        allowed unless a test is about running out."""
        from billing import services as billing_services
        from billing.models import BillingAccount

        kwargs.setdefault("password", PASSWORD)
        kwargs.setdefault("verified", True)
        user = user_create(**kwargs)
        if credits:
            billing_services.credits_grant(
                account=BillingAccount.objects.get(owner=user), amount=credits, note="test credits"
            )
        return user


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    owner = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class, *args, owner, name, **kwargs):
        return project_services.project_create(owner=owner, name=name)


def add_member(project, user, *, jobs="all", datasets="read", models="read"):
    return project_services.membership_set(
        project=project, user=user, jobs=jobs, datasets=datasets, models=models, actor=None
    )


def make_node(*, owner=None, name=None, gpu_type="a100", gpus=8, online=True, storage=True, **extra):
    """A compute node (public when `owner` is None), online with a fresh heartbeat by default."""
    from django.utils import timezone

    from compute.models import ComputeNode, GpuType

    make_node.counter = getattr(make_node, "counter", 0) + 1
    defaults = {
        "name": name or f"node-{make_node.counter}",
        "hostname": f"host-{make_node.counter}.example",
        "gpu_type": GpuType.objects.get(slug=gpu_type),
        "gpu_count": gpus,
        "storage_path": "/data" if storage else "",
        "storage_capacity_gb": 1000 if storage else 0,
        "status": ComputeNode.Status.ONLINE if online else ComputeNode.Status.OFFLINE,
        "last_heartbeat": timezone.now() if online else None,
        "sandbox_ok": True,  # as its agent reports on a machine that can sandbox
        "agent_url": "http://agent.example:8101" if storage else "",
    }
    defaults.update(extra)
    return ComputeNode.objects.create(owner=owner, **defaults)


def sign_in_to(client, user, project):
    """`user` signed in on `client` with `project` active, as after switching to it."""
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = str(project.pk)
    session.save()
    return client
