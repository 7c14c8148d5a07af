"""The project page's GPU type badges: the names of the types job forms offer, by the same rule,
in one query even when a refresh found none."""

from compute import selectors, services
from compute.models import ProjectCompute
from tests.factories import make_node


def _names(project):
    return [t.name for t in selectors.available_gpu_types(project=project)]


def test_names_are_those_the_forms_offer_stored_or_computed(project, owner):
    make_node(gpu_type="a100")
    make_node(owner=owner, gpu_type="t4")
    personal = owner.owned_projects.get(is_personal=True)
    assert selectors.available_gpu_type_names(project=personal) == _names(personal) != []
    ProjectCompute.objects.filter(project=project).delete()  # never refreshed: computed now
    assert selectors.available_gpu_type_names(project=project) == _names(project) == ["NVIDIA T4", "NVIDIA A100"]
    services.project_gpu_types_refresh(project=project, actor=owner)
    make_node(gpu_type="h100")  # stored: only a refresh adds it
    assert selectors.available_gpu_type_names(project=project) == _names(project) == ["NVIDIA T4", "NVIDIA A100"]


def test_a_refresh_that_found_no_type_reads_nothing_once_known(project, django_assert_num_queries):
    services.project_gpu_types_refresh(project=project, actor=None)  # no node at all
    with django_assert_num_queries(1):
        assert selectors.available_gpu_type_names(project=project) == []
    with django_assert_num_queries(0):
        assert selectors.available_gpu_type_names(project=project) == []


def test_stored_types_names_are_one_query_once_known(project, owner, django_assert_num_queries):
    make_node(gpu_type="a100")
    make_node(owner=owner, gpu_type="t4")
    services.project_gpu_types_refresh(project=project, actor=owner)
    selectors.available_gpu_type_names(project=project)
    with django_assert_num_queries(1):  # the names, by the cached ids
        assert selectors.available_gpu_type_names(project=project) == ["NVIDIA T4", "NVIDIA A100"]
