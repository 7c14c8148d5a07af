"""Dashboard, create, rename, delete, the audit log, 404s that reveal nothing, and query counts."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from projects import services
from projects.models import AuditEvent, Membership, Project
from projects.signals import project_deleting
from projects.views import DASHBOARD_PAGE_SIZE, MEMBERS_PAGE_SIZE
from tests.factories import ProjectFactory, UserFactory, add_member

pytestmark = pytest.mark.django_db


def test_create_project_from_dashboard(client, owner):
    client.force_login(owner)
    response = client.post(reverse("projects:create"), {"name": "  Team X  "})
    project = Project.objects.get(name="Team X")
    assert response.status_code == 302 and response["Location"] == reverse("projects:detail", args=[project.pk])
    assert project.owner == owner and not project.is_personal
    assert AuditEvent.objects.filter(project=project, action="project.created").exists()


@pytest.mark.parametrize(("name", "message"), [("", "This field is required."), ("personal", "reserved")])
def test_create_project_refusals(client, owner, name, message):
    client.force_login(owner)
    response = client.post(reverse("projects:create"), {"name": name})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Project.objects.filter(owner=owner).count() == 1  # the Personal one


def test_rename(client, owner, project):
    client.force_login(owner)
    client.post(reverse("projects:rename", args=[project.pk]), {"name": "Vision 2"})
    project.refresh_from_db()
    assert project.name == "Vision 2"
    event = AuditEvent.objects.get(action="project.renamed")
    assert event.before == {"name": "Vision Research"} and event.after == {"name": "Vision 2"}


def test_delete_needs_the_typed_name(client, owner, project):
    client.force_login(owner)
    url = reverse("projects:delete", args=[project.pk])
    response = client.post(url, {"confirm_name": "vision research"})
    assert "That is not the project&#x27;s name." in response.content.decode()
    assert Project.objects.filter(pk=project.pk).exists()
    response = client.post(url, {"confirm_name": "Vision Research"})
    assert response.status_code == 302
    assert not Project.objects.filter(pk=project.pk).exists()
    event = AuditEvent.objects.get(action="project.deleted")
    assert event.project_id == project.pk and event.project_name == "Vision Research"


def test_delete_refused_while_a_job_runs(client, owner, project):
    def running_job(sender, project, **kwargs):
        return "A job of this project is running: stop it first."

    project_deleting.connect(running_job, weak=False, dispatch_uid="test-running-job")
    try:
        client.force_login(owner)
        response = client.post(reverse("projects:delete", args=[project.pk]), {"confirm_name": project.name})
    finally:
        project_deleting.disconnect(dispatch_uid="test-running-job")
    assert "A job of this project is running" in response.content.decode()
    assert Project.objects.filter(pk=project.pk).exists()


def test_another_projects_id_answers_the_same_404_as_a_missing_one(client, outsider, project):
    import uuid

    client.force_login(outsider)
    hidden = client.get(reverse("projects:detail", args=[project.pk]))
    missing = client.get(reverse("projects:detail", args=[uuid.uuid4()]))
    assert hidden.status_code == missing.status_code == 404
    # Bodies are identical but for the per-response masked CSRF token.
    def strip_csrf(body: bytes) -> str:
        body = re.sub(r'"x-csrftoken": "[^"]+"', "", body.decode())
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)

    assert strip_csrf(hidden.content) == strip_csrf(missing.content)
    assert "Vision Research" not in hidden.content.decode()


def test_audit_log_records_every_membership_action_and_paginates(client, owner, project):
    bob = UserFactory(email="bob@example.com")
    services.membership_set(project=project, user=bob, jobs="all", datasets="read", models="read", actor=owner)
    services.membership_set(project=project, user=bob, jobs="read", datasets="read", models="read", actor=owner)
    services.membership_remove(project=project, user=bob, actor=owner)
    actions = list(AuditEvent.objects.filter(project=project).values_list("action", flat=True))
    assert actions[:3] == ["member.removed", "member.updated", "member.added"]
    updated = AuditEvent.objects.get(action="member.updated")
    assert updated.actor == owner and updated.target == "bob@example.com"
    assert updated.before["jobs"] == "all" and updated.after["jobs"] == "read"

    for i in range(30):
        services.project_rename(project=project, name=f"Name {i}", actor=owner)
    client.force_login(owner)
    first = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    audit_url = reverse("projects:audit", args=[project.pk])
    assert f'<div id="audit-log" hx-get="{audit_url}" hx-trigger="revealed"' in first  # loads when seen
    assert f'<a href="{audit_url}">Audit log of Name 29 →</a>' in first  # without JavaScript
    page = client.get(audit_url).content.decode()
    assert "Page 1" in page and "Older →" in page and "project.renamed" in page
    loaded = client.get(audit_url, headers={"HX-Request": "true"}).content.decode()
    assert loaded.lstrip().startswith('<div id="audit-log">') and "Name 28" in loaded
    second = client.get(reverse("projects:audit", args=[project.pk]) + "?audit_page=2", headers={"HX-Request": "true"})
    html = second.content.decode()
    assert html.lstrip().startswith('<div id="audit-log">') and "project.created" in html


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_dashboard_query_count_is_the_same_for_1_and_200_projects(client, owner):
    client.force_login(owner)
    other = UserFactory()
    ProjectFactory(owner=owner)
    add_member(ProjectFactory(owner=other, name="Shared first"), owner)
    small = _count_queries(client, reverse("projects:list"))
    for i in range(100):
        ProjectFactory(owner=owner, name=f"Mine {i}")
        shared = ProjectFactory(owner=other, name=f"Shared {i}")
        add_member(shared, owner)
    large = _count_queries(client, reverse("projects:list"))
    page = client.get(reverse("projects:list")).content.decode()
    # both lists are paged (mine: Personal first, then by name; shared: by name)
    n = DASHBOARD_PAGE_SIZE
    mine = list(Project.objects.filter(owner=owner).order_by("-is_personal", "name", "pk")
                .values_list("name", flat=True))
    shared = list(Project.objects.filter(memberships__user=owner).order_by("name").values_list("name", flat=True))
    assert len(mine) == 102 and len(shared) == 101
    assert all(f">{name}</a>" in page for name in mine[:n] + shared[:n])
    assert f">{mine[n]}</a>" not in page and f">{shared[n]}</a>" not in page
    assert page.count(f"1–{n}") == 2 and "?mine_page=2" in page and "?shared_page=2" in page
    pages = -(-102 // n)
    last = client.get(reverse("projects:list"), {"mine_page": pages}).content.decode()
    assert f">{mine[-1]}</a>" in last and f"{(pages - 1) * n + 1}–102" in last
    assert large == small


def test_project_page_query_count_is_the_same_for_1_and_200_members(client, owner, project):
    client.force_login(owner)
    add_member(project, UserFactory())
    url = reverse("projects:detail", args=[project.pk])
    client.get(url)  # as every view but a project's first (its GPU types are kept, compute.selectors)
    add_member(project, UserFactory())
    # the first view after a change of members reads the table again; the next ones find it kept
    small = (_count_queries(client, url), _count_queries(client, url))
    for _ in range(198):
        add_member(project, UserFactory())
    large = (_count_queries(client, url), _count_queries(client, url))
    assert Membership.objects.filter(project=project).count() == 200
    assert large == small
    assert small[1] == small[0] - 2  # kept: neither the member rows nor the invitations are read


def test_create_with_copy_personal_keys_copies_them(client, owner):
    from projects import keys

    personal = Project.objects.personal_of(owner)
    keys.key_set(project=personal, kind="huggingface", public={}, secret="hf_personal_token_123", actor=owner)
    client.force_login(owner)
    client.post(reverse("projects:create"), {"name": "With Keys", "copy_personal_keys": "on"})
    client.post(reverse("projects:create"), {"name": "Without Keys"})
    with_keys = Project.objects.get(name="With Keys")
    without = Project.objects.get(name="Without Keys")
    assert list(with_keys.third_party_keys.values_list("kind", flat=True)) == ["huggingface"]
    assert not without.third_party_keys.exists()


def test_owner_page_shows_keys_section_and_member_page_does_not(client, owner, project, member_all):
    client.force_login(owner)
    detail = reverse("projects:detail", args=[project.pk])
    keys_url = reverse("projects:keys", args=[project.pk])
    page = client.get(detail).content.decode()
    # the section loads when scrolled into view; its forms then post back to the project page
    assert f'id="keys-section" class="keys-section" aria-labelledby="keys-heading"\n         hx-get="{keys_url}"' in page
    section = client.get(keys_url, headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver{detail}"})
    html = section.content.decode()
    assert html.lstrip().startswith('<section id="keys-section"') and "Hugging Face" in html
    assert f'name="next" value="{detail}"' in html
    client.force_login(member_all)
    assert "keys-section" not in client.get(reverse("projects:detail", args=[project.pk])).content.decode()


def test_member_table_is_paged_and_htmx_pages_it(client, owner, project):
    for i in range(120):
        add_member(project, UserFactory(email=f"m{i:03d}@example.com"))
    client.force_login(owner)
    url = reverse("projects:detail", args=[project.pk])
    first = client.get(url).content.decode()
    table = first.split('<section id="member-table">')[1].split("</section>")[0]
    n = MEMBERS_PAGE_SIZE
    assert "m000@example.com" in table and f"m{n - 1:03d}@example.com" in table and f"m{n:03d}@example.com" not in table
    assert f"Members 1–{n}" in table and "Next →" in table
    last = 120 // n
    fifth = client.get(url, {"members_page": last}, headers={"HX-Request": "true"}).content.decode()
    assert fifth.lstrip().startswith('<section id="member-table">')
    assert "m119@example.com" in fifth and "m000@example.com" not in fifth and "Next →" not in fifth
    assert (f'<a href="{url}?members_page={last - 1}#members" hx-get="{url}?members_page={last - 1}" '
            'hx-target="#member-table" hx-swap="outerHTML">← Previous</a>') in fifth
    assert f"Members {120 - n + 1}–120" in fifth
    # The new-owner field suggests the members shown and takes any member's address.
    datalist = first.split('<datalist id="member-emails">')[1].split("</datalist>")[0]
    assert datalist.count("<option") == n and "m119@example.com" not in datalist
    client.post(reverse("projects:transfer-offer", args=[project.pk]), {"member": "M119@example.com"})
    project.refresh_from_db()
    assert project.transfer_to.email == "m119@example.com"


def test_member_rows_escape_what_people_typed(client, owner, project):
    services.project_rename(project=project, name='<b onmouseover="x">Team</b>', actor=owner)
    add_member(project, UserFactory(email="o'hara@example.com"))
    client.force_login(owner)
    page = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    table = page.split('<section id="member-table">')[1].split("</section>")[0]
    assert "<b onmouseover" not in table
    assert "Remove o&#x27;hara@example.com from &lt;b onmouseover=&quot;x&quot;&gt;Team&lt;/b&gt;?" in table
    assert 'aria-label="Jobs access for o&#x27;hara@example.com"' in table
    hara = Membership.objects.get(project=project, user__email="o'hara@example.com")
    assert f'<tr id="member-{hara.pk}"><td>o&#x27;hara@example.com</td><td><select name="{hara.pk}-jobs"' in table
    viewer = UserFactory(email='"<i>viewer</i>"@example.com')
    add_member(project, viewer, jobs="read", datasets="none", models="all")
    client.force_login(viewer)
    page = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    table = page.split('<section id="member-table">')[1].split("</section>")[0]
    assert "<i>viewer" not in table and "<b onmouseover" not in table
    assert ('<td>&quot;&lt;i&gt;viewer&lt;/i&gt;&quot;@example.com <span class="badge grey">You</span></td>'
            '<td><span class="badge grey">Read-Only</span></td><td><span class="badge bad">None</span></td>'
            '<td><span class="badge ok">All</span></td></tr>') in table


@pytest.mark.parametrize("invited", [True, False])
@pytest.mark.parametrize("members", [9, 60])  # with the one added below: one page, and six
def test_project_page_reads_the_same_queries_with_few_or_many_members(
    client, owner, project, members, invited, django_assert_num_queries
):
    """Session, user; the header's active project (Personal here) and the page's project, both
    rows in one query, with the person's permissions on them (cached). The members' page and the
    pending invitations are read on the first view after a change of members, then kept under the
    project's members_version; the names of the project's stored GPU types are kept by its
    updated_at. Who has two-factor sign-in is the lazily loaded panel's."""
    from projects import services

    for i in range(members):
        add_member(project, UserFactory(email=f"m{i:03d}@example.com"))
    if invited:
        services.member_add_by_email(project=project, email="later@example.com", jobs="read",
                                     datasets="read", models="read", actor=owner)
    client.force_login(owner)
    url = reverse("projects:detail", args=[project.pk])
    client.get(url)
    add_member(project, UserFactory(email="a-new@example.com"))
    with django_assert_num_queries(5):
        assert "a-new@example.com" in client.get(url).content.decode()
    with django_assert_num_queries(3):
        page = client.get(url).content.decode()
    assert "<strong>Personal</strong>" in page and f"<h1>{project.name}</h1>" in page  # both projects
    assert "m008@example.com" in page and "m009@example.com" not in page  # the page holds ten
    assert ("later@example.com" in page) == invited
    assert ('aria-label="Member pages"' in page) == (members + 1 > MEMBERS_PAGE_SIZE)  # a pager only past one page


def test_pending_invitations_show_on_every_member_page_and_without_members(client, owner, project):
    from projects import services

    services.member_add_by_email(project=project, email="later@example.com", jobs="read", datasets="read",
                                 models="read", actor=owner)
    client.force_login(owner)
    url = reverse("projects:detail", args=[project.pk])
    assert "later@example.com" in client.get(url).content.decode()  # no member: no row to ask
    for i in range(30):
        add_member(project, UserFactory(email=f"m{i:03d}@example.com"))
    for number in (1, 2):
        page = client.get(url, {"members_page": number}).content.decode()
        assert "later@example.com" in page
    services.invitation_revoke(invitation=project.invitations.get(), actor=owner)
    for number in (1, 2):
        assert "later@example.com" not in client.get(url, {"members_page": number}).content.decode()


def test_project_page_of_the_active_project_and_with_a_stale_choice(client, owner, project, outsider):
    """The page's project is the active one: one row serves both. A session naming a project
    the person lost: the page still answers, and the header falls back to Personal with a message."""
    from projects.middleware import SESSION_KEY

    client.force_login(owner)
    session = client.session
    session[SESSION_KEY] = str(project.pk)
    session.save()
    page = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert '<span class="badge ok">Active project</span>' in page
    assert f"<strong>{project.name}</strong></summary>" in page

    gone = ProjectFactory(owner=outsider, name="Gone Project")
    session = client.session
    session[SESSION_KEY] = str(gone.pk)
    session.save()
    page = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert "You no longer have access to Gone Project." in page
    assert "<strong>Personal</strong></summary>" in page
    assert client.get(reverse("projects:detail", args=[gone.pk])).status_code == 404
    session = client.session
    session[SESSION_KEY] = "not-a-uuid"
    session.save()
    assert client.get(reverse("projects:detail", args=[project.pk])).status_code == 200
    assert client.get(reverse("projects:detail", args=["0" * 8 + "-0000-4000-8000-" + "0" * 12])).status_code == 404


def test_the_owners_forms_bring_input_back_with_their_errors(client, owner, project, outsider):
    """Rename, transfer and add member refused: each form shows what was typed, its error and
    aria-invalid; the others keep their defaults."""
    client.force_login(owner)
    add_member(project, UserFactory(email="member@example.com"))
    page = client.post(reverse("projects:rename", args=[project.pk]), {"name": ""}).content.decode()
    assert 'name="name" maxlength="100" required aria-invalid="true"' in page
    assert '<small class="field-error">This field is required.</small>' in page
    assert 'aria-label="New owner\'s e-mail" value="" required>' in page  # transfer: its default

    page = client.post(reverse("projects:transfer-offer", args=[project.pk]),
                       {"member": outsider.email}).content.decode()
    assert f'<p class="field-error">{outsider.email} is not a member of this project.' in page
    assert f'value="{outsider.email}" required aria-invalid="true"' in page
    assert 'name="name" value="Vision Research" maxlength="100" required id="id_rename_name"' in page  # its default

    page = client.post(reverse("projects:member-add", args=[project.pk]),
                       {"email": "not-an-email", "jobs": "read", "datasets": "none", "models": "all"},
                       headers={"HX-Request": "true"}).content.decode()
    assert 'name="email" value="not-an-email" placeholder="name@example.com" maxlength="254" required aria-invalid="true"' in page
    assert '<option value="read" selected>Read-Only</option>' in page.split('name="jobs"')[1].split("</select>")[0]
    assert '<option value="all" selected>All</option>' in page.split('name="models"')[1].split("</select>")[0]


@pytest.mark.parametrize("count", [2, 40])
def test_dashboard_reads_the_same_queries_with_few_or_many_projects(client, user, count,
                                                                      django_assert_num_queries):
    """Session, user, the active project; the owned page, the shared page: whatever the count.
    Whether any project is locked until the person turns two-factor on is known from the cache
    (they belong to none that requires it)."""
    for i in range(count):
        ProjectFactory(owner=user, name=f"mine {i:02d}")
        add_member(ProjectFactory(name=f"theirs {i:02d}"), user)
    client.force_login(user)
    url = reverse("projects:list")
    client.get(url)
    with django_assert_num_queries(5):
        page = client.get(url).content.decode()
    assert "mine 00" in page and "theirs 00" in page
    # a page of each list (mine holds the Personal project too, active: no button)
    assert page.count("Make active") == min(count + 1, DASHBOARD_PAGE_SIZE) - 1 + min(count, DASHBOARD_PAGE_SIZE)


def test_project_page_under_another_active_project_shows_changes_on_the_next_view(client, owner, project):
    """A member looks at one project while another is active (both rows read in one query): a
    rename of either shows on the next view, and losing the page's project answers 404 at once."""
    from projects.middleware import SESSION_KEY

    member = UserFactory(email="member@example.com")
    add_member(project, member)
    other = ProjectFactory(owner=owner, name="Other Project")
    add_member(other, member)
    client.force_login(member)
    session = client.session
    session[SESSION_KEY] = str(other.pk)
    session.save()
    url = reverse("projects:detail", args=[project.pk])
    page = client.get(url).content.decode()
    assert "<strong>Other Project</strong>" in page and f"<h1>{project.name}</h1>" in page
    services.project_rename(project=other, name="Renamed Other", actor=owner)
    services.project_rename(project=project, name="Renamed Page", actor=owner)
    page = client.get(url).content.decode()
    assert "<strong>Renamed Other</strong>" in page and "<h1>Renamed Page</h1>" in page
    services.membership_remove(project=project, user=member, actor=owner)
    assert client.get(url).status_code == 404
    assert "<strong>Renamed Other</strong>" in client.get(reverse("projects:list")).content.decode()
