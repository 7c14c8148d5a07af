"""The owner adds, updates and removes members; members leave; every change is effective on the
very next request."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from projects import access
from projects.models import AuditEvent, Invitation, Membership
from tests.factories import ProjectFactory, UserFactory, add_member

pytestmark = pytest.mark.django_db


def _add(client, project, **data):
    payload = {"email": "", "jobs": "all", "datasets": "read", "models": "read", **data}
    return client.post(reverse("projects:member-add", args=[project.pk]), payload)


def test_add_member_matches_email_regardless_of_case(client, owner, project):
    bob = UserFactory(email="bob@example.com")
    client.force_login(owner)
    response = _add(client, project, email="  BOB@Example.COM ")
    assert response.status_code == 302
    membership = Membership.objects.get(project=project, user=bob)
    assert membership.access() == {"jobs": "all", "datasets": "read", "models": "read"}
    assert access.access_summary(bob, project) == {"jobs": "all", "datasets": "read", "models": "read"}


def test_add_member_form_defaults_to_the_common_configuration(client, owner, project):
    client.force_login(owner)
    page = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    form = page[page.index('class="add-member"'):page.index("Add Member</button>")]
    assert '<option value="all" selected>All</option>' in form.split('name="jobs"')[1].split("</select>")[0]
    for field in ("datasets", "models"):
        options = form.split(f'name="{field}"')[1].split("</select>")[0]
        assert '<option value="read" selected>Read-Only</option>' in options


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("owner@example.com", "owner&#x27;s own address"),
        ("OWNER@example.com", "owner&#x27;s own address"),
        ("not-an-email", "Enter a valid e-mail address."),
        ("", "This field is required."),
    ],
)
def test_add_member_refusals_name_the_field_and_write_nothing(client, owner, project, email, message):
    client.force_login(owner)
    before = AuditEvent.objects.count()
    response = _add(client, project, email=email)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert 'placeholder="name@example.com"' in html and 'aria-invalid="true"' in html
    assert not Membership.objects.filter(project=project).exists()
    assert not Invitation.objects.exists()
    assert AuditEvent.objects.count() == before


def test_add_existing_member_or_pending_email_is_refused(client, owner, project, member_read):
    client.force_login(owner)
    response = _add(client, project, email="read@example.com", jobs="all")
    assert "already a member" in response.content.decode()
    assert Membership.objects.get(user=member_read).jobs == "read"
    _add(client, project, email="ghost@example.com")
    response = _add(client, project, email="Ghost@example.com")
    assert "already has a pending invitation" in response.content.decode()
    assert Invitation.objects.filter(email="ghost@example.com").count() == 1


def test_unknown_email_gets_pending_invitation_by_mail(
    client, owner, project, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = _add(client, project, email="newcomer@example.com", models="none")
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.status == "pending" and invitation.models == "none"
    assert [m.to for m in mail.outbox] == [["newcomer@example.com"]]
    assert "Vision Research" in mail.outbox[0].subject
    page = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert "newcomer@example.com" in page and "Pending" in page and "Revoke" in page


def test_htmx_update_re_renders_only_the_member_table(client, owner, project, member_read):
    client.force_login(owner)
    membership = Membership.objects.get(user=member_read)
    response = client.post(
        reverse("projects:member-update", args=[project.pk, membership.pk]),
        {f"{membership.pk}-jobs": "all", f"{membership.pk}-datasets": "none", f"{membership.pk}-models": "read"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="member-table">')
    assert "<html" not in html and "Audit log" not in html
    assert "Updated read@example.com." in html
    membership.refresh_from_db()
    assert membership.access() == {"jobs": "all", "datasets": "none", "models": "read"}
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_plain_post_update_works_without_javascript(client, owner, project, member_read):
    client.force_login(owner)
    membership = Membership.objects.get(user=member_read)
    response = client.post(
        reverse("projects:member-update", args=[project.pk, membership.pk]),
        {f"{membership.pk}-jobs": "none", f"{membership.pk}-datasets": "all", f"{membership.pk}-models": "all"},
        follow=True,
    )
    assert response.redirect_chain[-1][0].endswith("#members")
    assert "Updated read@example.com." in response.content.decode()
    membership.refresh_from_db()
    assert membership.access() == {"jobs": "none", "datasets": "all", "models": "all"}


def test_update_with_invalid_level_is_refused(client, owner, project, member_read):
    client.force_login(owner)
    membership = Membership.objects.get(user=member_read)
    response = client.post(
        reverse("projects:member-update", args=[project.pk, membership.pk]),
        {f"{membership.pk}-jobs": "admin", f"{membership.pk}-datasets": "all", f"{membership.pk}-models": "all"},
    )
    assert response.status_code == 200
    assert ("read@example.com was not updated. Jobs: Select a valid choice. admin is not one of the "
            "available choices.") in response.content.decode()
    membership.refresh_from_db()
    assert membership.access() == {"jobs": "read", "datasets": "read", "models": "read"}


def test_revoked_access_is_effective_on_the_next_request(client, owner, project):
    bob = UserFactory(email="bob@example.com")
    add_member(project, bob, jobs="all", datasets="all", models="all")
    bob_client = client.__class__()
    bob_client.force_login(bob)
    detail = reverse("projects:detail", args=[project.pk])
    assert bob_client.get(detail).status_code == 200

    client.force_login(owner)
    membership = Membership.objects.get(user=bob)
    client.post(reverse("projects:member-remove", args=[project.pk, membership.pk]))

    assert bob_client.get(detail).status_code == 404
    # The page bob still has open can't post anything any more.
    response = bob_client.post(reverse("projects:leave", args=[project.pk]))
    assert response.status_code == 404
    assert project not in access.Project.objects.for_user(bob)


def test_downgrade_is_effective_on_the_next_request(client, owner, project, member_all):
    assert access.can(member_all, project, "datasets", "manage")
    client.force_login(owner)
    membership = Membership.objects.get(user=member_all)
    client.post(
        reverse("projects:member-update", args=[project.pk, membership.pk]),
        {f"{membership.pk}-jobs": "read", f"{membership.pk}-datasets": "read", f"{membership.pk}-models": "none"},
    )
    fresh = type(member_all).objects.get(pk=member_all.pk)  # what the next request loads
    assert not access.can(fresh, project, "datasets", "manage")
    assert access.can(fresh, project, "datasets", "read")
    assert not access.can(fresh, project, "models", "read")


def test_member_can_leave(client, project, member_read):
    client.force_login(member_read)
    response = client.post(reverse("projects:leave", args=[project.pk]), follow=True)
    assert "You left Vision Research." in response.content.decode()
    assert not Membership.objects.filter(user=member_read).exists()
    assert client.get(reverse("projects:detail", args=[project.pk])).status_code == 404
    assert AuditEvent.objects.filter(action="member.left", target="read@example.com").exists()


def test_owner_cannot_leave(client, owner, project):
    client.force_login(owner)
    response = client.post(reverse("projects:leave", args=[project.pk]), follow=True)
    assert "owner cannot leave" in response.content.decode()


def test_non_owner_cannot_administer(client, project, member_all):
    client.force_login(member_all)
    response = _add(client, project, email="x@example.com")
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_member_page_shows_owner_members_and_own_access_but_no_administration(client, project, member_read, member_all):
    client.force_login(member_read)
    html = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert "owner@example.com" in html and "all@example.com" in html
    assert "Your access" in html and "Leave project" in html
    for hidden in ("Audit log", "Add Member", "Rename", "Third-Party Keys", "Transfer ownership", "Delete"):
        assert hidden not in html


def test_personal_project_page_says_it_is_personal_and_offers_nothing(client, owner):
    client.force_login(owner)
    personal = access.Project.objects.personal_of(owner)
    html = client.get(reverse("projects:detail", args=[personal.pk])).content.decode()
    assert "This is your Personal project" in html
    for absent in ("Add Member", "Rename", "Delete", "Leave project", "Transfer ownership", "Audit log"):
        assert absent not in html


def test_dashboard_lists_mine_then_shared_with_owner_and_access(client, owner, project):
    theirs = ProjectFactory(name="Their Project", owner=UserFactory(email="them@example.com"))
    add_member(theirs, owner, jobs="read", datasets="none", models="all")
    client.force_login(owner)
    html = client.get(reverse("projects:list")).content.decode()
    mine, shared = html.split("Shared With Me")
    assert mine.index("Personal") < mine.index("Vision Research")
    assert "Their Project" in shared and "them@example.com" in shared
    assert "Read-Only" in shared and "None" in shared and "All" in shared


def test_member_rows_post_through_one_form_that_carries_each_requests_own_csrf_token(owner, project):
    """The member rows are one cached fragment without a CSRF token: their selects and buttons
    belong to one form after the table, which carries each request's own token. Update and Remove
    post to their formaction with CSRF checks on, and a changed level shows on the next page (the
    fragment's key holds it)."""
    bob = UserFactory(email="bob@example.com")
    membership = add_member(project, bob, jobs="read", datasets="read", models="read")
    add_member(project, UserFactory(email="carol@example.com"))
    detail = reverse("projects:detail", args=[project.pk])
    update = reverse("projects:member-update", args=[project.pk, membership.pk])
    remove = reverse("projects:member-remove", args=[project.pk, membership.pk])

    def rows_and_token(client):
        page = client.get(detail).content.decode()
        table = page[page.index('<table class="members">'):]
        rows = table[:table.index("</table>")]
        form = table[table.index('<form id="member-rows" method="post">'):]
        form = form[:form.index("</form>")]
        token = form.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
        return rows, form, token

    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(owner)
    second.force_login(owner)
    rows, form, token = rows_and_token(first)
    other_rows, _, other_token = rows_and_token(second)  # the same rows from the cache, another token
    assert "<form" not in rows and "csrfmiddlewaretoken" not in rows and other_token != token
    assert other_rows == rows and 'name="members_page" value="1"' in form
    bob_row = rows[rows.index(f'<tr id="member-{membership.pk}">'):]
    bob_row = bob_row[:bob_row.index("</tr>")]
    assert bob_row.count('form="member-rows"') == 5  # three selects, two buttons
    assert f'formaction="{update}"' in bob_row and f'formaction="{remove}"' in bob_row
    assert f'hx-post="{remove}"' in bob_row and 'hx-confirm="Remove bob@example.com from Vision Research?"' in bob_row

    # what a browser sends: every row's selects (each named by its row), the page and the token
    carol = Membership.objects.get(user__email="carol@example.com")
    fields = {"csrfmiddlewaretoken": token, "members_page": "1",
              f"{membership.pk}-jobs": "all", f"{membership.pk}-datasets": "read", f"{membership.pk}-models": "none",
              f"{carol.pk}-jobs": "none", f"{carol.pk}-datasets": "none", f"{carol.pk}-models": "none"}
    assert first.post(update, fields).status_code == 302
    membership.refresh_from_db()
    carol.refresh_from_db()
    assert membership.access() == {"jobs": "all", "datasets": "read", "models": "none"}
    assert carol.access() == {"jobs": "all", "datasets": "read", "models": "read"}  # only the row asked for
    rows, _, token = rows_and_token(first)
    jobs = rows.split(f'name="{membership.pk}-jobs"')[1].split("</select>")[0]
    assert '<option value="all" selected>All</option>' in jobs
    assert '<option value="none" selected>' in rows.split(f'name="{membership.pk}-models"')[1].split("</select>")[0]

    assert first.post(remove, fields | {"csrfmiddlewaretoken": token}).status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert f'<tr id="member-{membership.pk}">' not in first.get(detail).content.decode()
    assert second.post(remove, fields | {"csrfmiddlewaretoken": "x" * 64}).status_code == 403
