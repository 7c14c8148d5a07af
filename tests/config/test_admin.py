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


def test_audit_log_is_read_only_in_admin(admin_client):
    project = ProjectFactory()
    event = project.audit_events.first()
    response = admin_client.post(reverse("admin:projects_auditevent_change", args=[event.pk]), {"action": "x"})
    event.refresh_from_db()
    assert event.action == "project.created"
    assert response.status_code in (200, 403)
    assert admin_client.post(reverse("admin:projects_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
