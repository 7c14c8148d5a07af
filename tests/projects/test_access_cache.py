"""The header's permissions are cached (projects.access), yet every change counts from the very
next request: each write of a permission row bumps the account's access_version."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from guardian.shortcuts import assign_perm, remove_perm

from accounts.models import User
from projects import services
from tests.factories import UserFactory, add_member, sign_in_to


def _jobs_list(client):
    return client.get(reverse("resources:job-list"))


def test_a_cached_page_reads_no_permission_rows(client, owner, project):
    member = UserFactory()
    add_member(project, member, jobs="read")
    sign_in_to(client, member, project)
    _jobs_list(client)
    with CaptureQueriesContext(connection) as ctx:
        page = _jobs_list(client).content.decode()
    assert f"In <strong>{project.name}</strong>" in page and 'id="project-switcher"' in page
    assert not any("userobjectpermission" in q["sql"] for q in ctx.captured_queries)


def test_removing_a_member_counts_on_their_very_next_request(client, owner, project):
    member = UserFactory()
    add_member(project, member, jobs="read")
    sign_in_to(client, member, project)
    assert f"In <strong>{project.name}</strong>" in _jobs_list(client).content.decode()  # cached now
    services.membership_remove(project=project, user=member, actor=owner)
    page = _jobs_list(client).content.decode()
    assert "In <strong>Personal</strong>" in page and f"You no longer have access to {project.name}" in page
    assert 'id="project-switcher"' not in page  # no other project left: no switcher
    assert client.get(reverse("projects:detail", args=[project.pk])).status_code == 404


def test_lowering_access_counts_on_the_very_next_request(client, owner, project):
    member = UserFactory()
    add_member(project, member, jobs="all")
    sign_in_to(client, member, project)
    assert ">New job<" in _jobs_list(client).content.decode()
    add_member(project, member, jobs="read")
    page = _jobs_list(client).content.decode()
    assert ">New job<" not in page and f"In <strong>{project.name}</strong>" in page
    assert client.get(reverse("resources:job-create")).status_code == 403
    add_member(project, member, jobs="none")
    assert _jobs_list(client).status_code == 404


def test_permissions_written_outside_the_services_count_too(client, owner, project):
    # guardian's own helpers, as its object-permission admin uses them
    member = UserFactory()
    add_member(project, member, jobs="read")
    sign_in_to(client, member, project)
    assert ">New job<" not in _jobs_list(client).content.decode()
    assign_perm("manage_jobs", member, project)
    assert ">New job<" in _jobs_list(client).content.decode()
    remove_perm("view_project", member, project)
    assert "In <strong>Personal</strong>" in _jobs_list(client).content.decode()


def test_deleting_the_project_counts_on_the_very_next_request(client, owner, project):
    member = UserFactory()
    add_member(project, member, jobs="read")
    sign_in_to(client, member, project)
    assert 'id="project-switcher"' in _jobs_list(client).content.decode()
    services.project_delete(project=project, actor=owner)
    page = _jobs_list(client).content.decode()
    assert "In <strong>Personal</strong>" in page and 'id="project-switcher"' not in page


def test_an_account_saved_from_an_old_copy_keeps_the_new_version(client, owner, project):
    member = UserFactory()
    add_member(project, member, jobs="read")
    stale = User.objects.get(pk=member.pk)  # read before the change, saved after it
    sign_in_to(client, member, project)
    _jobs_list(client)
    services.membership_remove(project=project, user=member, actor=owner)
    stale.name = "Renamed"
    stale.save()
    assert User.objects.get(pk=member.pk).name == "Renamed"
    assert "In <strong>Personal</strong>" in _jobs_list(client).content.decode()


def test_requiring_two_factor_counts_on_the_very_next_request(client, owner, project):
    # The setting is on the project row, which is read afresh on every request.
    member = UserFactory()
    add_member(project, member, jobs="read")
    sign_in_to(client, member, project)
    assert f"In <strong>{project.name}</strong>" in _jobs_list(client).content.decode()
    project.require_two_factor = True
    project.save(update_fields=["require_two_factor"])
    assert "In <strong>Personal</strong>" in _jobs_list(client).content.decode()
