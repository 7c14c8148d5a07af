"""A project's available GPU types: what a refresh stores, who may refresh, what forms accept."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from compute import selectors, services
from compute.forms import GpuRequestForm
from compute.services import gpu_request_clean
from projects.models import AuditEvent
from tests.factories import UserFactory, make_node


def slugs(types):
    return sorted(t.slug for t in types)


@pytest.fixture
def nodes(owner):
    """Public t4 + a100 online, the owner's a6000 online, the owner's h100 offline, someone
    else's a4000 online."""
    make_node(gpu_type="t4")
    make_node(gpu_type="a100")
    make_node(owner=owner, gpu_type="a6000")
    make_node(owner=owner, gpu_type="h100", online=False)
    make_node(owner=UserFactory(), gpu_type="a4000")


def test_refresh_without_setting_offers_public_and_owners_online_types(project, nodes):
    services.project_gpu_types_refresh(project=project, actor=project.owner)
    assert slugs(selectors.available_gpu_types(project=project)) == ["a100", "a6000", "t4"]


def test_refresh_with_owned_only_offers_only_owners_online_types(project, nodes):
    project.owned_compute_only = True
    project.save()
    services.project_gpu_types_refresh(project=project, actor=project.owner)
    assert slugs(selectors.available_gpu_types(project=project)) == ["a6000"]


def test_stale_heartbeat_counts_as_offline(project, owner, settings):
    settings.TRAINSHED_NODE_HEARTBEAT_SECONDS = 90
    make_node(owner=owner, gpu_type="a6000", last_heartbeat=timezone.now() - timedelta(seconds=91))
    project.owned_compute_only = True
    project.save()
    services.project_gpu_types_refresh(project=project, actor=None)
    assert selectors.available_gpu_types(project=project) == []


def test_draining_node_offers_no_type(project, owner):
    node = make_node(owner=owner, gpu_type="a6000")
    services.node_drain(node=node, actor=owner)
    project.owned_compute_only = True
    project.save()
    services.project_gpu_types_refresh(project=project, actor=owner)
    assert selectors.available_gpu_types(project=project) == []


def test_new_node_appears_only_after_refresh(client, project, owner):
    project.owned_compute_only = True
    project.save()
    make_node(owner=owner, gpu_type="a6000")
    services.project_gpu_types_refresh(project=project, actor=owner)
    make_node(owner=owner, gpu_type="h100")
    assert slugs(selectors.available_gpu_types(project=project)) == ["a6000"]

    client.force_login(owner)
    url = reverse("compute:project-gpu-refresh", kwargs={"project_id": project.pk})
    response = client.post(url, follow=True)
    assert "Available GPU types refreshed: NVIDIA RTX A6000, NVIDIA H100." in response.content.decode()
    assert slugs(selectors.available_gpu_types(project=project)) == ["a6000", "h100"]


def test_personal_project_is_always_current(owner):
    personal = owner.owned_projects.get(is_personal=True)
    assert selectors.available_gpu_types(project=personal) == []
    make_node(owner=owner, gpu_type="a6000")
    make_node(gpu_type="t4")
    assert slugs(selectors.available_gpu_types(project=personal)) == ["a6000", "t4"]


def test_a_new_project_starts_with_the_types_available_at_creation(owner):
    from tests.factories import ProjectFactory

    make_node(gpu_type="t4")
    project = ProjectFactory(owner=owner)
    assert slugs(selectors.available_gpu_types(project=project)) == ["t4"]
    event = AuditEvent.objects.get(project=project, action="compute.gpu_types_refreshed")
    assert event.actor is None and event.after["gpu_types"] == ["t4"]


def test_refresh_is_audited(project, owner, nodes):
    services.project_gpu_types_refresh(project=project, actor=owner)
    event = AuditEvent.objects.get(project=project, action="compute.gpu_types_refreshed", actor=owner)
    assert event.after["gpu_types"] == ["a100", "a6000", "t4"]


def test_member_cannot_refresh(project, member_all):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.project_gpu_types_refresh(project=project, actor=member_all)


# ---- the settings page ---------------------------------------------------------------------


def test_owner_sees_settings_page_with_list_and_refresh_time(client, project, owner, nodes):
    services.project_gpu_types_refresh(project=project, actor=owner)
    client.force_login(owner)
    page = client.get(reverse("compute:project-settings", kwargs={"project_id": project.pk}))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Use Only Owned Compute Resources" in text
    assert "Refresh Available GPU Types" in text
    assert "NVIDIA A100" in text and "NVIDIA T4" in text
    assert "Last refreshed" in text and "owner@example.com" in text


def test_owner_turns_setting_on_and_the_list_is_refreshed_at_once(client, project, owner):
    services.project_gpu_types_refresh(project=project, actor=owner)
    client.force_login(owner)
    url = reverse("compute:project-settings-update", kwargs={"project_id": project.pk})
    response = client.post(url, {"owned_compute_only": "on"}, follow=True)
    project.refresh_from_db()
    assert project.owned_compute_only is True
    assert "use only your own compute" in response.content.decode()
    assert "The setting changed after the last refresh" not in response.content.decode()
    assert "Available GPU types refreshed" in response.content.decode()
    assert AuditEvent.objects.filter(project=project, action="settings.updated").exists()
    assert AuditEvent.objects.filter(project=project, action="compute.gpu_types_refreshed",
                                     actor=owner).count() == 2  # the button's, then the setting's

    client.post(url, {})  # unchecked box: off again
    project.refresh_from_db()
    assert project.owned_compute_only is False


def test_htmx_update_renders_the_settings_partial(client, project, owner):
    client.force_login(owner)
    url = reverse("compute:project-settings-update", kwargs={"project_id": project.pk})
    response = client.post(url, {"owned_compute_only": "on"}, headers={"HX-Request": "true"})
    text = response.content.decode()
    assert response.status_code == 200
    assert 'id="compute-settings"' in text and "<html" not in text
    assert "Settings updated" in text


def test_member_gets_403_and_cannot_change_anything(client, project, member_all):
    client.force_login(member_all)
    kw = {"project_id": project.pk}
    assert client.get(reverse("compute:project-settings", kwargs=kw)).status_code == 403
    url = reverse("compute:project-settings-update", kwargs=kw)
    assert client.post(url, {"owned_compute_only": "on"}).status_code == 403
    assert client.post(reverse("compute:project-gpu-refresh", kwargs=kw)).status_code == 403
    project.refresh_from_db()
    assert project.owned_compute_only is False


def test_personal_project_cannot_be_configured(client, owner):
    personal = owner.owned_projects.get(is_personal=True)
    client.force_login(owner)
    kw = {"project_id": personal.pk}
    page = client.get(reverse("compute:project-settings", kwargs=kw))
    assert "The Personal project cannot be configured" in page.content.decode()
    assert "Refresh Available GPU Types" not in page.content.decode()
    response = client.post(
        reverse("compute:project-settings-update", kwargs=kw), {"owned_compute_only": "on"}, follow=True
    )
    assert "The Personal project cannot be configured." in response.content.decode()
    personal.refresh_from_db()
    assert personal.owned_compute_only is False


def test_members_see_type_names_but_nothing_of_the_owners_nodes(client, project, owner, member_read):
    make_node(owner=owner, gpu_type="a6000", name="olivias-secret-box", hostname="box.internal")
    project.owned_compute_only = True
    project.save()
    services.project_gpu_types_refresh(project=project, actor=owner)
    client.force_login(member_read)
    session = client.session
    session["trainshed_project"] = str(project.pk)
    session.save()
    page = client.get(reverse("compute:node-list")).content.decode()
    assert "NVIDIA RTX A6000" in page  # the type name, via the include
    assert "olivias-secret-box" not in page and "box.internal" not in page


# ---- the GPU field every job form reuses -------------------------------------------------------


@pytest.fixture
def t4_only(project):
    make_node(gpu_type="t4", gpus=4)
    make_node(gpu_type="a100")  # online, but not in the stored list: refreshed before it existed
    project.owned_compute_only = False
    services.project_gpu_types_refresh(project=project, actor=None)
    from compute.models import ProjectCompute

    ProjectCompute.objects.get(project=project).gpu_types.set(
        [t for t in selectors.available_gpu_types(project=project) if t.slug == "t4"]
    )
    return project


def test_form_accepts_an_available_type(t4_only):
    form = GpuRequestForm({"gpu_type": "t4", "gpu_count": "2"}, project=t4_only)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["gpu_type"].slug == "t4"


def test_crafted_post_with_another_type_is_refused(t4_only):
    form = GpuRequestForm({"gpu_type": "a100", "gpu_count": "1"}, project=t4_only)
    assert not form.is_valid()
    assert form.errors["gpu_type"] == [
        "“a100” is not a GPU type this project may use. Available: t4."
    ]
    assert [str(value) for value, _label in form.fields["gpu_type"].choices] == ["t4"]


def test_more_gpus_than_any_node_has_is_a_field_error(t4_only):
    assert selectors.max_gpus_for(project=t4_only, gpu_type="t4") == 4
    form = GpuRequestForm({"gpu_type": "t4", "gpu_count": "5"}, project=t4_only)
    assert not form.is_valid()
    assert form.errors["gpu_count"] == [
        "No NVIDIA T4 node this project may use has 5 GPUs; the largest has 4."
    ]


def test_api_validator_names_the_field(t4_only):
    with pytest.raises(ValidationError) as exc:
        gpu_request_clean(project=t4_only, gpu_type="h100", gpu_count=1)
    assert "gpu_type" in exc.value.message_dict
    assert gpu_request_clean(project=t4_only, gpu_type="t4", gpu_count="3")[1] == 3


def test_stored_types_are_read_in_one_query_cheapest_first(project, nodes, django_assert_num_queries):
    services.project_gpu_types_refresh(project=project, actor=None)
    with django_assert_num_queries(1):
        types = selectors.available_gpu_types(project=project)
    assert slugs(types) == ["a100", "a6000", "t4"]
    assert [(t.credits_per_gpu_hour, t.name) for t in types] == sorted(
        (t.credits_per_gpu_hour, t.name) for t in types)
    a100 = next(t for t in types if t.slug == "a100")
    assert a100.pk and a100.memory_gb and a100.name == "NVIDIA A100"


def test_a_refresh_that_found_no_type_is_two_queries_and_no_new_refresh(project, django_assert_num_queries):
    services.project_gpu_types_refresh(project=project, actor=None)  # no node at all
    with django_assert_num_queries(2):  # the empty list, then: was it ever refreshed?
        assert selectors.available_gpu_types(project=project) == []


# ---- the badges on the project page and the Compute page ---------------------------------------


def _badges(client, project) -> tuple[list[str], list[str]]:
    """The GPU type badges a project page shows, and the SQL that rendering it ran."""
    import re

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        page = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    box = page[page.index(f'id="project-gpu-types-{project.pk}"'):]
    box = box[:box.index("</div>")]
    return re.findall(r'<span class="badge grey">([^<]*)</span>', box), [q["sql"] for q in ctx.captured_queries]


def test_project_page_shows_the_stored_types_in_one_query(client, project, owner, member_all, nodes):
    services.project_gpu_types_refresh(project=project, actor=owner)
    wanted = ["NVIDIA T4", "NVIDIA RTX A6000", "NVIDIA A100"]  # by price, as job forms offer them
    assert [t.name for t in selectors.available_gpu_types(project=project)] == wanted
    client.force_login(member_all)
    first, sql = _badges(client, project)
    assert first == wanted and sum("compute_projectcompute" in q for q in sql) == 1


def test_a_refresh_shows_on_the_very_next_view(client, project, owner):
    project.owned_compute_only = True
    project.save()
    make_node(owner=owner, gpu_type="a6000")
    services.project_gpu_types_refresh(project=project, actor=owner)
    client.force_login(owner)
    assert _badges(client, project)[0] == ["NVIDIA RTX A6000"]
    make_node(owner=owner, gpu_type="h100")
    assert _badges(client, project)[0] == ["NVIDIA RTX A6000"]  # stored: only a refresh adds it
    client.post(reverse("compute:project-gpu-refresh", kwargs={"project_id": project.pk}))
    assert _badges(client, project)[0] == ["NVIDIA RTX A6000", "NVIDIA H100"]
    # The settings page's htmx answer to a refresh shows the new list too (same request's project).
    make_node(owner=owner, gpu_type="a100")
    answer = client.post(reverse("compute:project-gpu-refresh", kwargs={"project_id": project.pk}),
                         headers={"HX-Request": "true"}).content.decode()
    assert "NVIDIA A100" in answer


def test_a_list_changed_in_the_admin_shows_on_the_next_view(client, admin_client, project, owner, nodes):
    from compute.models import GpuType, ProjectCompute

    services.project_gpu_types_refresh(project=project, actor=owner)
    client.force_login(owner)
    assert _badges(client, project)[0] == ["NVIDIA T4", "NVIDIA RTX A6000", "NVIDIA A100"]
    stored = ProjectCompute.objects.get(project=project)
    url = reverse("admin:compute_projectcompute_change", args=[stored.pk])
    h100 = GpuType.objects.get(slug="h100")
    assert admin_client.post(url, {"gpu_types": [h100.pk]}).status_code == 302
    assert _badges(client, project)[0] == ["NVIDIA H100"]


def test_a_type_renamed_repriced_or_removed_in_the_admin_shows_on_the_next_view(
    client, admin_client, project, owner, nodes
):
    from compute.models import ComputeNode, GpuType

    services.project_gpu_types_refresh(project=project, actor=owner)
    client.force_login(owner)
    assert _badges(client, project)[0] == ["NVIDIA T4", "NVIDIA RTX A6000", "NVIDIA A100"]
    t4 = GpuType.objects.get(slug="t4")
    url = reverse("admin:compute_gputype_change", args=[t4.pk])
    changed = {"name": "NVIDIA Tesla T4", "slug": "t4", "memory_gb": t4.memory_gb, "credits_per_gpu_hour": "99"}
    assert admin_client.post(url, changed).status_code == 302
    assert _badges(client, project)[0] == ["NVIDIA RTX A6000", "NVIDIA A100", "NVIDIA Tesla T4"]
    a100 = GpuType.objects.get(slug="a100")
    ComputeNode.objects.filter(gpu_type=a100).delete()  # a type in use is protected
    response = admin_client.post(reverse("admin:compute_gputype_delete", args=[a100.pk]), {"post": "yes"})
    assert response.status_code == 302 and not GpuType.objects.filter(slug="a100").exists()
    assert _badges(client, project)[0] == ["NVIDIA RTX A6000", "NVIDIA Tesla T4"]


def test_a_type_changed_outside_the_admin_shows_on_the_next_view(client, project, owner, nodes):
    from compute.models import GpuType

    services.project_gpu_types_refresh(project=project, actor=owner)
    client.force_login(owner)
    assert "NVIDIA T4" in _badges(client, project)[0]
    GpuType.objects.filter(slug="t4").update(name="NVIDIA Tesla T4")  # a shell, say
    assert "NVIDIA Tesla T4" in _badges(client, project)[0]


def test_the_personal_projects_types_on_the_compute_page_are_always_current(client, owner):
    client.force_login(owner)
    page = client.get(reverse("compute:node-list")).content.decode()
    assert "none right now" in page
    make_node(owner=owner, gpu_type="a6000")
    page = client.get(reverse("compute:node-list")).content.decode()
    assert '<span class="badge grey">NVIDIA RTX A6000</span>' in page and "none right now" not in page
