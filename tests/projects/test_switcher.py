"""The active project and the header's switcher."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from projects import services as project_services
from projects.forms import ACTIVE_PROJECT_FIELD
from projects.middleware import SESSION_KEY
from resources import services
from resources.models import Dataset, MLModel
from tests.factories import ProjectFactory, UserFactory, add_member


def _dataset(project, name, by):
    return services.dataset_create_from_upload(project=project, name=name, created_by=by,
                                               files=[SimpleUploadedFile("a.txt", b"a")])


def test_switcher_hidden_for_someone_with_only_a_personal_project(client, user):
    client.force_login(user)
    page = client.get(reverse("resources:dataset-list")).content.decode()
    assert 'id="project-switcher"' not in page
    assert "In <strong>Personal</strong>" in page


def test_switcher_names_the_active_project_and_lists_the_others(client, owner, project):
    client.force_login(owner)
    page = client.get(reverse("home"), follow=True).content.decode()
    assert 'id="project-switcher"' in page
    assert "<strong>Personal</strong>" in page  # the active one, named in the summary
    assert f'hx-get="{reverse("projects:switcher")}"' in page  # its choices load when opened
    assert f'href="{reverse("projects:list")}">Your projects' in page  # without JavaScript

    choices = client.get(reverse("projects:switcher")).content.decode()
    assert choices.count('name="project"') == 2
    assert 'aria-current="true">Personal' in choices and ">Vision Research<" in choices
    assert 'name="q"' not in choices  # a search box only for people with many projects


def test_switcher_choices_are_only_the_persons_projects(client, owner, project):
    stranger_project = ProjectFactory(name="Vision Secret")
    member = UserFactory()
    add_member(project, member, jobs="read", datasets="read", models="read")
    client.force_login(member)
    choices = client.get(reverse("projects:switcher")).content.decode()
    assert "Vision Research" in choices and f"· {owner.email}" in choices  # whose it is
    assert stranger_project.name not in choices
    found = client.get(reverse("projects:switcher"), {"q": "vision"}).content.decode()
    assert "Vision Research" in found and "Vision Secret" not in found
    assert "No project matches “secret”." in client.get(reverse("projects:switcher"), {"q": "secret"}).content.decode()


def test_many_projects_get_a_search_and_a_link_to_all(client, user, django_assert_num_queries):
    for i in range(12):
        project = ProjectFactory(name=f"Team {i:02d}")
        add_member(project, user, jobs="read", datasets="read", models="read")
    client.force_login(user)
    client.get(reverse("projects:switcher"))  # warm up the session
    with django_assert_num_queries(4):  # session, user, active project, the choices
        choices = client.get(reverse("projects:switcher")).content.decode()
    assert 'name="q"' in choices and "All your projects →" in choices
    assert choices.count('name="project"') == 10  # Personal and the first nine by name
    assert "Team 08" in choices and "Team 09" not in choices
    found = client.get(reverse("projects:switcher"), {"q": "team 1"}).content.decode()
    assert found.count('name="project"') == 2 and "Team 10" in found and "Team 11" in found
    assert 'id="switcher-q" name="q" value="team 1"' in found  # the box comes back as typed


def test_switching_changes_what_the_lists_show(client, owner, project):
    personal = owner.owned_projects.get(is_personal=True)
    _dataset(personal, "Personal data", owner)
    _dataset(project, "Vision data", owner)
    MLModel.objects.create(project=project, name="Vision model", created_by=owner, status="ready")
    client.force_login(owner)
    url = reverse("resources:dataset-list")

    page = client.get(url).content.decode()
    assert "Personal data" in page and "Vision data" not in page

    response = client.post(reverse("projects:switch"), {"project": str(project.pk), "next": url})
    assert response.status_code == 302 and response["Location"] == url
    page = client.get(url).content.decode()
    assert "Vision data" in page and "Personal data" not in page
    assert "Active project: Vision Research." in page
    assert "Vision model" in client.get(reverse("resources:model-list")).content.decode()

    # htmx: the page is sent to the same place with a client-side redirect
    response = client.post(reverse("projects:switch"), {"project": str(personal.pk), "next": url},
                           headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == url
    page = client.get(url).content.decode()
    assert "Personal data" in page and "Vision data" not in page


def test_switching_on_an_object_page_lands_on_its_list(client, owner, project):
    ds = _dataset(owner.owned_projects.get(is_personal=True), "Personal data", owner)
    client.force_login(owner)
    detail = reverse("resources:dataset-detail", args=[ds.pk])
    response = client.post(reverse("projects:switch"), {"project": str(project.pk), "next": detail})
    assert response["Location"] == reverse("resources:dataset-list")


def test_switching_to_a_project_without_that_type_lands_on_its_page_and_says_why(client, project):
    viewer = UserFactory()
    add_member(project, viewer, jobs="none", datasets="none", models="read")
    client.force_login(viewer)
    for page in (reverse("resources:dataset-list"), reverse("resources:job-list")):
        response = client.post(reverse("projects:switch"), {"project": str(project.pk), "next": page})
        assert response["Location"] == reverse("projects:detail", args=[project.pk])
        kind = "datasets" if "dataset" in page else "jobs"
        shown = client.get(response["Location"]).content.decode()
        assert f"You have no access to {kind} in Vision Research, so here is the project" in shown


def test_cannot_switch_to_a_project_one_cannot_see(client, user, project):
    client.force_login(user)
    response = client.post(reverse("projects:switch"), {"project": str(project.pk)})
    assert response.status_code == 404
    assert SESSION_KEY not in client.session


def test_revoked_access_falls_back_to_personal_with_a_message(client, owner, project, member_all):
    _dataset(project, "Vision data", owner)
    _dataset(member_all.owned_projects.get(is_personal=True), "My own data", member_all)
    client.force_login(member_all)
    client.post(reverse("projects:switch"), {"project": str(project.pk)})
    assert "Vision data" in client.get(reverse("resources:dataset-list")).content.decode()

    project_services.membership_remove(project=project, user=member_all, actor=owner)

    page = client.get(reverse("resources:dataset-list")).content.decode()
    assert "You no longer have access to Vision Research." in page
    assert "My own data" in page and "Vision data" not in page
    assert SESSION_KEY not in client.session
    # the message is said once
    assert "You no longer have access" not in client.get(reverse("home"), follow=True).content.decode()


def test_a_garbage_session_value_falls_back_to_personal(client, user):
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = "not-a-uuid"
    session.save()
    response = client.get(reverse("resources:dataset-list"))
    assert response.status_code == 200 and "In <strong>Personal</strong>" in response.content.decode()


def test_stale_tab_guard_refuses_and_creates_nothing(client, owner, project):
    personal = owner.owned_projects.get(is_personal=True)
    client.force_login(owner)
    form_page = client.get(reverse("resources:model-create")).content.decode()
    assert "Will be created in <strong>Personal</strong> (your Personal project)" in form_page
    # in another tab the person switches to Vision Research, then submits the old tab's form
    client.post(reverse("projects:switch"), {"project": str(project.pk)})
    response = client.post(reverse("resources:model-create"), {
        "name": "stale", ACTIVE_PROJECT_FIELD: str(personal.pk),
        "files": [SimpleUploadedFile("w.bin", b"w")],
    })
    assert response.status_code == 200
    assert ("This form was opened for “Personal”, but your active project is now “Vision Research”."
            in response.content.decode())
    assert not MLModel.objects.exists()
    response = client.post(reverse("resources:dataset-import"), {
        "url-name": "stale", "url-url": "https://example.com/x.csv",
        f"url-{ACTIVE_PROJECT_FIELD}": str(personal.pk),
    })
    assert "This form was opened for “Personal”" in response.content.decode()
    assert not Dataset.objects.exists()


def test_a_form_without_its_project_id_says_so(client, owner):
    client.force_login(owner)
    response = client.post(reverse("resources:dataset-create"),
                           {"name": "x", "files": [SimpleUploadedFile("a.txt", b"a")]})
    assert "The form did not say which project it was for." in response.content.decode()
    assert not Dataset.objects.exists()


def test_created_resources_land_in_the_active_project(client, owner, project):
    client.force_login(owner)
    client.post(reverse("projects:switch"), {"project": str(project.pk)})
    client.post(reverse("resources:dataset-create"), {
        "name": "landed", ACTIVE_PROJECT_FIELD: str(project.pk),
        "files": [SimpleUploadedFile("a.txt", b"a")],
    })
    assert Dataset.objects.get(name="landed").project == project
    other = ProjectFactory(owner=owner, name="Third")
    assert not Dataset.objects.in_project(other).exists()
