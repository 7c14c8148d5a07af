"""Operators' view: every model is listed in the admin and its pages load."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import ProjectFactory, UserFactory, add_member

pytestmark = pytest.mark.django_db


def test_every_registered_model_changelist_and_change_page_loads(admin_client, admin_user, rf):
    project = ProjectFactory()
    add_member(project, UserFactory())
    from projects import services

    services.member_add_by_email(project=project, email="inv@example.com", jobs="all", datasets="read",
                                 models="read", actor=None)
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        response = admin_client.get(changelist, {"q": "example"})
        assert response.status_code == 200, changelist
        request = rf.get(changelist)
        request.user = admin_user
        obj = model_admin.get_queryset(request).first()
        if obj is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            assert admin_client.get(change).status_code == 200, change


def test_guardian_object_permissions_admin_on_project(admin_client):
    project = ProjectFactory()
    url = reverse("admin:projects_project_permissions", args=[project.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert project.owner.email in response.content.decode()


def test_projects_and_their_object_permissions_are_read_only_in_admin(admin_client):
    """Ownership, settings and permissions change only through the services, which keep every
    member's cached access and the audit log in step: the admin shows them and changes nothing."""
    from django.contrib.auth.models import Permission

    from projects.models import Project, ProjectUserObjectPermission

    project = ProjectFactory(name="Team")
    member = UserFactory(email="member@example.com")
    add_member(project, member, jobs="read", datasets="none", models="none")
    change = reverse("admin:projects_project_change", args=[project.pk])
    page = admin_client.get(change)
    assert page.status_code == 200 and "Team" in page.content.decode() and 'name="name"' not in page.content.decode()
    assert admin_client.post(change, {"name": "Renamed", "owner": member.pk, "require_two_factor": "on"}).status_code == 403
    assert admin_client.get(reverse("admin:projects_project_add")).status_code == 403
    assert admin_client.post(reverse("admin:projects_project_delete", args=[project.pk]), {"post": "yes"}).status_code == 403
    held = set(ProjectUserObjectPermission.objects.filter(user=member, content_object=project).values_list("permission__codename", flat=True))
    perms_of_member = reverse("admin:projects_project_permissions_manage_user", args=[project.pk, member.pk])
    manage = Permission.objects.get(codename="manage_datasets")
    assert admin_client.post(perms_of_member, {"permissions": [manage.pk]}).status_code == 403
    project.refresh_from_db()
    assert (project.name, project.owner_id, project.require_two_factor) == ("Team", project.owner_id, False)
    assert Project.objects.filter(pk=project.pk).exists()
    after = set(ProjectUserObjectPermission.objects.filter(user=member, content_object=project).values_list("permission__codename", flat=True))
    assert after == held and "manage_datasets" not in after


def test_audit_log_is_read_only_in_admin(admin_client):
    project = ProjectFactory()
    event = project.audit_events.first()
    response = admin_client.post(reverse("admin:projects_auditevent_change", args=[event.pk]), {"action": "x"})
    event.refresh_from_db()
    assert event.action == "project.created"
    assert response.status_code in (200, 403)
    assert admin_client.post(reverse("admin:projects_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
