"""The project setting "Members must use two-factor sign-in": only an owner with two-factor may
turn it on; on and off are audited; while on, a member without two-factor sees the project
marked locked in their list (with a link to set it up) and nothing else of it, and their API
keys are told why."""

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from accounts.api_keys import api_key_create
from projects.mfa import SETTING
from projects.models import AuditEvent
from tests.factories import ProjectFactory, add_member


def give_two_factor(user):
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"})


def turn_on(client, project):
    return client.post(reverse("projects:two-factor", kwargs={"project_id": project.pk}),
                       {"require_two_factor": "on"}, follow=True)


@pytest.fixture
def required(client, project, owner, member_all):
    give_two_factor(owner)
    client.force_login(owner)
    turn_on(client, project)
    project.refresh_from_db()
    assert project.require_two_factor
    client.logout()
    return project


@pytest.mark.django_db
def test_owner_without_two_factor_cannot_turn_it_on(client, project, owner):
    client.force_login(owner)
    page = _two_factor_panel(client, project)
    assert "Members must use two-factor sign-in" in page
    assert "You must use two-factor sign-in yourself" in page
    response = turn_on(client, project)
    assert "Turn on two-factor sign-in for your own account first" in response.content.decode()
    project.refresh_from_db()
    assert not project.require_two_factor
    assert not AuditEvent.objects.filter(project=project, action="settings.updated").exists()


@pytest.mark.django_db
def test_turning_it_on_and_off_is_audited(client, project, owner):
    give_two_factor(owner)
    client.force_login(owner)
    response = turn_on(client, project)
    assert "Members must now use two-factor sign-in" in response.content.decode()
    client.post(reverse("projects:two-factor", kwargs={"project_id": project.pk}), {})
    events = list(AuditEvent.objects.filter(project=project, action="settings.updated").order_by("pk")
                  .values_list("actor__email", "before", "after"))
    assert events == [
        ("owner@example.com", {"require_two_factor": False}, {"require_two_factor": True}),
        ("owner@example.com", {"require_two_factor": True}, {"require_two_factor": False}),
    ]


@pytest.mark.django_db
def test_a_member_cannot_change_the_setting(client, project, member_all):
    give_two_factor(member_all)
    client.force_login(member_all)
    response = client.post(reverse("projects:two-factor", kwargs={"project_id": project.pk}),
                           {"require_two_factor": "on"})
    assert response.status_code == 403


@pytest.mark.django_db
def test_member_without_two_factor_sees_the_project_locked_and_nothing_else(client, required, member_all):
    client.force_login(member_all)
    listing = client.get(reverse("projects:list")).content.decode()
    assert "Locked: two-factor sign-in required" in listing
    assert "Vision Research" in listing and reverse("mfa_index") in listing
    assert reverse("projects:detail", kwargs={"project_id": required.pk}) not in listing
    assert client.get(reverse("projects:detail", kwargs={"project_id": required.pk})).status_code == 404
    assert client.get(reverse("resources:job-list")).status_code == 200  # their own Personal project
    switcher = client.get(reverse("projects:switcher")).content.decode()
    assert "Vision Research" not in switcher
    switched = client.post(reverse("projects:switch"), {"project": str(required.pk)})
    assert switched.status_code == 404


@pytest.mark.django_db
def test_a_stale_active_project_falls_back_to_personal(client, project, owner, member_all):
    client.force_login(member_all)
    client.post(reverse("projects:switch"), {"project": str(project.pk)})
    give_two_factor(owner)
    project.require_two_factor = True
    project.save()
    page = client.get(reverse("resources:job-list")).content.decode()
    assert "Vision Research" not in page.split("<main")[0]  # the header names Personal now


@pytest.mark.django_db
def test_member_with_two_factor_opens_it(client, required, member_all):
    give_two_factor(member_all)
    client.force_login(member_all)
    assert client.get(reverse("projects:detail", kwargs={"project_id": required.pk})).status_code == 200
    listing = client.get(reverse("projects:list")).content.decode()
    assert "Locked" not in listing and "Vision Research" in listing
    assert "Vision Research" in client.get(reverse("projects:switcher")).content.decode()


@pytest.mark.django_db
def test_api_key_of_member_without_two_factor_gets_403_naming_the_setting(client, required, member_all,
                                                                           outsider):
    _key, raw = api_key_create(user=member_all, name="cli")
    headers = {"Authorization": f"Bearer {raw}", "X-Trainshed-Project": str(required.pk)}
    response = client.get("/api/v1/jobs", headers=headers)
    assert response.status_code == 403
    assert SETTING in response.json()["detail"]
    listed = client.get("/api/v1/projects", headers={"Authorization": f"Bearer {raw}"}).json()["items"]
    assert "Vision Research" not in [p["name"] for p in listed]
    # An outsider still gets the plain 404: nothing says the project exists.
    _key, other = api_key_create(user=outsider, name="cli")
    response = client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {other}",
                                                   "X-Trainshed-Project": str(required.pk)})
    assert response.status_code == 404 and SETTING not in response.content.decode()
    give_two_factor(member_all)
    assert client.get("/api/v1/jobs", headers=headers).status_code == 200


@pytest.mark.django_db
def test_owner_member_table_shows_who_has_two_factor(client, required, owner, member_all, member_read):
    give_two_factor(member_read)
    client.force_login(owner)
    page = _two_factor_panel(client, required)
    table = page.split('class="two-factor-members"')[1].split("</table>")[0]
    assert "all@example.com</td><td><span class=\"badge warn\">Off</span> — locked out" in table
    assert "read@example.com</td><td><span class=\"badge ok\">On</span>" in table


@pytest.mark.django_db
def test_two_factor_turned_on_shows_on_the_owners_next_view(client, project, owner, member_all):
    """The panel's rows say who of the page's members has two-factor: a member or the owner
    turning it on shows on the very next view, with members on the page or none."""
    client.force_login(owner)
    page = _two_factor_panel(client, project)
    assert "You must use two-factor sign-in yourself" in page
    assert 'all@example.com</td><td><span class="badge warn">Off</span>' in page
    give_two_factor(member_all)
    page = _two_factor_panel(client, project)
    assert 'all@example.com</td><td><span class="badge ok">On</span>' in page
    assert "You must use two-factor sign-in yourself" in page
    give_two_factor(owner)
    page = _two_factor_panel(client, project)
    assert "You must use two-factor sign-in yourself" not in page
    assert 'all@example.com</td><td><span class="badge ok">On</span>' in page


@pytest.mark.django_db
def test_owner_two_factor_without_members(client, owner):
    empty = ProjectFactory(owner=owner, name="Empty")
    client.force_login(owner)
    assert "You must use two-factor sign-in yourself" in _two_factor_panel(client, empty)
    give_two_factor(owner)
    page = _two_factor_panel(client, empty)
    assert "You must use two-factor sign-in yourself" not in page and 'id="two-factor"' in page


@pytest.mark.django_db
def test_the_project_page_loads_the_panel_of_its_members_page_when_scrolled_to(client, owner, project,
                                                                             member_all):
    """The owner's page holds a placeholder that loads the panel (htmx, revealed) for the members'
    page it shows; without JavaScript its link opens the panel as a page of its own."""
    client.force_login(owner)
    page = client.get(reverse("projects:detail", kwargs={"project_id": project.pk})).content.decode()
    url = reverse("projects:two-factor", kwargs={"project_id": project.pk}) + "?members_page=1"
    placeholder = page.split('<article id="two-factor"')[1].split("</article>")[0]
    assert f'hx-get="{url}" hx-trigger="revealed"' in placeholder and f'href="{url}"' in placeholder
    assert "two-factor-members" not in page
    full = client.get(url).content.decode()
    assert "<html" in full and 'all@example.com</td><td><span class="badge warn">Off</span>' in full
    personal = owner.owned_projects.get(is_personal=True)
    assert client.get(reverse("projects:two-factor", kwargs={"project_id": personal.pk})).status_code == 404
    # and the Personal project's page offers no panel to load
    assert 'id="two-factor"' not in client.get(
        reverse("projects:detail", kwargs={"project_id": personal.pk})).content.decode()


def _two_factor_panel(client, project, members_page=1) -> str:
    """The panel as the project page loads it (htmx), for one page of its member table."""
    url = reverse("projects:two-factor", kwargs={"project_id": project.pk})
    response = client.get(url, {"members_page": members_page}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_dashboard_lists_a_locked_project_apart_until_two_factor_is_on(client, required, member_all):
    """The shared list leaves out exactly the locked projects (read once for both lists): another
    shared project stays there, and the locked one moves to it on the next view once 2FA is on."""
    add_member(ProjectFactory(name="Open Project"), member_all)
    client.force_login(member_all)
    detail = reverse("projects:detail", kwargs={"project_id": required.pk})
    listing = client.get(reverse("projects:list")).content.decode()
    shared = listing.split("<h2>Shared With Me</h2>")[1]
    assert "Open Project" in shared and "Vision Research" not in shared and detail not in listing
    assert "Vision Research" in listing.split('<section id="locked-projects">')[1].split("</section>")[0]
    give_two_factor(member_all)
    listing = client.get(reverse("projects:list")).content.decode()
    shared = listing.split("<h2>Shared With Me</h2>")[1]
    assert "Open Project" in shared and "Vision Research" in shared and detail in shared
    assert 'id="locked-projects"' not in listing


@pytest.mark.django_db
@pytest.mark.parametrize("members", [3, 30])
def test_the_panel_reads_the_same_queries_with_few_or_many_members(client, owner, project, members,
                                                                  django_assert_max_num_queries):
    from tests.factories import UserFactory

    for i in range(members):
        add_member(project, UserFactory(email=f"p{i:03d}@example.com"))
    client.force_login(owner)
    _two_factor_panel(client, project)
    # Session, user, the project; the members' page; who of them and the owner has two-factor.
    with django_assert_max_num_queries(5):
        page = _two_factor_panel(client, project, members_page=2 if members > 10 else 1)
    # The rows of the members' page asked for: the second page starts at the 11th member.
    shown = "p010@example.com" if members > 10 else "p000@example.com"
    assert f"{shown}</td><td><span" in page and ("p000@example.com" in page) == (members <= 10)


@pytest.mark.django_db
def test_a_dashboard_seen_before_the_setting_shows_the_project_locked_right_after(client, project, owner,
                                                                                  member_all):
    """Whether someone belongs to any project that requires two-factor is kept between views (most
    belong to none): the owner turning the setting on shows on the member's very next view."""
    client.force_login(member_all)
    listing = client.get(reverse("projects:list")).content.decode()
    assert 'id="locked-projects"' not in listing and "Vision Research" in listing.split("<h2>Shared With Me</h2>")[1]
    give_two_factor(owner)
    client.force_login(owner)
    turn_on(client, project)
    client.force_login(member_all)
    listing = client.get(reverse("projects:list")).content.decode()
    assert "Vision Research" in listing.split('<section id="locked-projects">')[1].split("</section>")[0]
    assert "Vision Research" not in listing.split("<h2>Shared With Me</h2>")[1]
    client.force_login(owner)
    client.post(reverse("projects:two-factor", kwargs={"project_id": project.pk}), {})
    client.force_login(member_all)
    listing = client.get(reverse("projects:list")).content.decode()
    assert 'id="locked-projects"' not in listing and "Vision Research" in listing.split("<h2>Shared With Me</h2>")[1]


@pytest.mark.django_db
def test_a_new_member_of_a_project_that_requires_it_sees_it_locked_on_their_next_view(client, required):
    from tests.factories import UserFactory

    newcomer = UserFactory(email="newcomer@example.com")
    client.force_login(newcomer)
    assert 'id="locked-projects"' not in client.get(reverse("projects:list")).content.decode()
    add_member(required, newcomer)
    listing = client.get(reverse("projects:list")).content.decode()
    assert "Vision Research" in listing.split('<section id="locked-projects">')[1].split("</section>")[0]
