"""The header every page shows (templates/_nav.html, _switcher.html): what a person sees,
escaped, and its forms post."""

from django.templatetags.static import static
from django.test import override_settings
from django.urls import reverse

from tests.factories import ProjectFactory, UserFactory, add_member


def test_signed_out_pages_offer_sign_in_and_sign_up(client, db):  # allauth reads SocialApp rows
    page = client.get(reverse("account_login")).content.decode()
    assert f'<a href="{reverse("account_login")}">Sign in</a>' in page
    assert f'href="{reverse("account_signup")}" role="button"' in page
    assert 'class="mainnav"' not in page and "Sign out" not in page


def test_the_header_names_the_person_and_marks_the_section(client, user):
    client.force_login(user)
    page = client.get(reverse("resources:job-list")).content.decode()
    assert f'<li class="muted small" dir="ltr">{user.email}</li>' in page
    assert f"<summary>{user.get_short_name()}</summary>" in page
    assert f'<a href="{reverse("resources:job-list")}" aria-current="page">Jobs</a>' in page
    assert f'<a href="{reverse("resources:dataset-list")}">Datasets</a>' in page
    assert page.count('aria-current="page"') == 1
    assert f'action="{reverse("account_logout")}"' in page and 'name="csrfmiddlewaretoken"' in page
    assert ">Admin</a>" not in page  # for staff only


def test_staff_see_the_admin_link(client, user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    page = client.get(reverse("projects:list")).content.decode()
    assert f'<a href="{reverse("admin:index")}">Admin</a>' in page


def test_names_in_the_header_are_escaped(client, db):
    person = UserFactory(name='<b>"Eve"</b>')
    team = ProjectFactory(name="<script>alert(1)</script>")
    add_member(team, person, jobs="read", datasets="read", models="read")
    client.force_login(person)
    session = client.session
    session["trainshed_project"] = str(team.pk)
    session.save()
    page = client.get(reverse("resources:job-list") + '?x="><i>').content.decode()
    assert "<strong>&lt;script&gt;alert(1)&lt;/script&gt;</strong>" in page  # the switcher's summary
    assert "<script>alert(1)" not in page
    assert "<summary>&lt;b&gt;&quot;Eve&quot;&lt;/b&gt;</summary>" in page
    assert 'name="next" value="/jobs/?x=%22%3E%3Ci%3E"' in page  # where the switcher returns to


def test_the_form_that_switches_posts_with_a_valid_token(client, owner, project):
    """The switcher's hidden form carries the request's CSRF token: a real (non-test) client's
    POST with it switches project."""
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    page = browser.get(reverse("resources:job-list")).content.decode()
    form = page[page.index('<form id="switcher-form"'):]
    token = form.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    response = browser.post(reverse("projects:switch"), {"project": str(project.pk), "next": "/jobs/",
                                                         "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert browser.session["trainshed_project"] == str(project.pk)


def test_head_tags_follow_the_static_files_settings(client, user):
    client.force_login(user)
    page = client.get(reverse("projects:list")).content.decode()
    assert f'<link rel="stylesheet" href="{static("css/app.css")}">' in page
    assert f'<script src="{static("js/app.js")}" defer></script>' in page
    with override_settings(STATIC_URL="/assets/"):
        assert 'href="/assets/css/app.css"' in client.get(reverse("projects:list")).content.decode()


def test_every_form_of_a_page_posts_with_its_csrf_token(db):
    """The header, the member rows, the owner's forms and htmx's header carry one token; a
    browser's POST with it is accepted."""
    import re

    from django.test import Client

    owner = UserFactory()
    project = ProjectFactory(owner=owner, name="Team")
    member = UserFactory()
    add_member(project, member, jobs="read", datasets="read", models="read")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    page = browser.get(reverse("projects:detail", kwargs={"project_id": project.pk})).content.decode()
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert len(tokens) >= 5  # sign-out, rename, transfer, add member, the member rows' one form
    assert re.findall(r'"x-csrftoken": "([^"]+)"', page)
    row = member.memberships.get().pk
    response = browser.post(reverse("projects:member-update", args=[project.pk, row]),
                            {f"{row}-jobs": "all", f"{row}-datasets": "read", f"{row}-models": "none",
                             "csrfmiddlewaretoken": tokens[0]})
    assert response.status_code == 302
    assert member.memberships.get().jobs == "all"


def test_a_page_without_the_header_reads_no_project(client, user, django_assert_num_queries):
    # The bare page every benchmark compares to: the session and the person, nothing of the
    # header (its sections are worked out only when a template draws them).
    client.force_login(user)
    with django_assert_num_queries(2):
        response = client.get(reverse("accounts:whoami"))
    assert response.status_code == 200 and user.email in response.content.decode()
