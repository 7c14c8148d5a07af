"""Placement: which node a job's GPUs are reserved on, and that no node is ever oversubscribed."""

import threading
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from compute import services
from compute.models import Reservation
from compute.signals import capacity_freed
from tests.factories import ProjectFactory, UserFactory, make_node


def reserve(project, gpu_type="a100", gpus=1, holder=None):
    return services.placement_reserve(
        project=project, gpu_type=gpu_type, gpu_count=gpus, holder=holder or f"job:{uuid.uuid4()}"
    )


def test_public_node_first_then_the_owners_own(project, owner):
    own = make_node(owner=owner, gpus=8)
    public = make_node(gpus=4)
    first = reserve(project, gpus=4)
    assert first.node == public
    second = reserve(project, gpus=4)
    assert second.node == own


def test_tightest_fitting_public_node_among_equals(project):
    make_node(gpus=8, name="big")
    small = make_node(gpus=2, name="small")
    assert reserve(project, gpus=2).node == small


def test_owned_only_project_uses_only_the_owners_nodes(project, owner):
    make_node(gpus=8)  # public: never used
    own = make_node(owner=owner, gpus=2)
    project.owned_compute_only = True
    project.save()
    assert reserve(project, gpus=2).node == own
    assert reserve(project, gpus=1) is None  # waits, though the public node is free


def test_other_peoples_nodes_are_never_used(project):
    make_node(owner=UserFactory(), gpus=8)
    assert reserve(project) is None


def test_type_and_free_count_must_fit(project):
    node = make_node(gpu_type="t4", gpus=4)
    assert reserve(project, gpu_type="a100") is None
    assert reserve(project, gpu_type="t4", gpus=5) is None
    assert reserve(project, gpu_type="t4", gpus=3).node == node
    assert reserve(project, gpu_type="t4", gpus=2) is None  # only 1 left
    assert reserve(project, gpu_type="t4", gpus=1).node == node


def test_draining_and_offline_nodes_get_no_new_reservations(project, owner):
    draining = make_node(gpus=8)
    services.node_drain(node=draining, actor=None)
    make_node(gpus=8, online=False)
    assert reserve(project) is None
    services.node_resume(node=draining, actor=None)
    assert reserve(project).node == draining


def test_release_frees_gpus_and_announces_it(project, django_capture_on_commit_callbacks):
    node = make_node(gpus=2)
    reserve(project, gpus=2, holder="job:a")
    assert reserve(project, gpus=1) is None
    heard = []

    def listener(sender, node, **kwargs):
        heard.append(node.pk)

    capacity_freed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert services.placement_release(holder="job:a") == 2
    finally:
        capacity_freed.disconnect(listener)
    assert heard == [node.pk]
    assert reserve(project, gpus=2).node == node
    assert services.placement_release(holder="job:unknown") == 0


def test_same_holder_gets_its_existing_reservation(project):
    make_node(gpus=8)
    first = reserve(project, gpus=2, holder="job:x")
    again = reserve(project, gpus=2, holder="job:x")
    assert again.pk == first.pk
    assert Reservation.objects.count() == 1


def test_bad_requests_name_the_field(project):
    make_node(gpus=8)
    with pytest.raises(ValidationError) as exc:
        reserve(project, gpus=0)
    assert "gpu_count" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        reserve(project, gpu_type="tpu")
    assert "gpu_type" in exc.value.message_dict


def test_node_with_gpus_in_use_cannot_be_removed_or_shrunk(project, owner):
    node = make_node(owner=owner, gpus=4)
    project.owned_compute_only = True
    project.save()
    reserve(project, gpus=3, holder="job:y")
    with pytest.raises(ValidationError, match="3 GPUs of “.*” are in use"):
        services.node_remove(node=node, actor=owner)
    with pytest.raises(ValidationError) as exc:
        services.node_update(node=node, actor=owner, gpu_count=2)
    assert exc.value.message_dict["gpu_count"] == ["3 GPUs are in use on this node: set at least 3."]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_placements_never_oversubscribe_a_node():
    """16 threads, each with its own database connection, race for 2-GPU slots on two 4-GPU nodes:
    exactly 4 win and no node holds more than 4 GPUs."""
    owner = UserFactory()
    project = ProjectFactory(owner=owner)
    nodes = [make_node(gpus=4), make_node(gpus=4)]
    start = threading.Barrier(16)
    results, errors = [], []

    def worker(i):
        try:
            start.wait()
            results.append(reserve(project, gpus=2, holder=f"job:{i}"))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    placed = [r for r in results if r is not None]
    assert len(placed) == 4
    for node in nodes:
        held = sum(r.gpus for r in Reservation.objects.filter(node=node))
        assert held == 4


def test_a_node_with_less_free_disk_than_asked_is_passed_over(project):
    full = make_node(gpus=2, name="full", storage_free_bytes=5 * 10**9)  # the tightest fit, 5 GB free
    roomy = make_node(gpus=8, name="roomy", storage_free_bytes=500 * 10**9)
    unmeasured = make_node(gpus=8, name="unmeasured", storage_free_bytes=None)
    assert services.placement_reserve(project=project, gpu_type="a100", gpu_count=1, holder="job:a",
                                      disk_gb=5).node == full
    assert services.placement_reserve(project=project, gpu_type="a100", gpu_count=1, holder="job:b",
                                      disk_gb=20).node == roomy
    assert services.placement_reserve(project=project, gpu_type="a100", gpu_count=8, holder="job:c",
                                      disk_gb=600).node == unmeasured  # not measured: GPUs decide
    assert services.placement_reserve(project=project, gpu_type="a100", gpu_count=1, holder="job:d",
                                      disk_gb=600) is None


def test_a_nodes_storage_capacity_is_shared_out_like_its_gpus(project):
    node = make_node(gpus=8, name="disk-100", storage_capacity_gb=100)
    first = services.placement_reserve(project=project, gpu_type="a100", gpu_count=1, holder="job:a",
                                       disk_gb=60)
    assert first.node == node and first.disk_gb == 60
    # Seven GPUs are free, but only 40 GB of the storage: the second job waits.
    assert services.placement_reserve(project=project, gpu_type="a100", gpu_count=1, holder="job:b",
                                      disk_gb=60) is None
    assert services.placement_reserve(project=project, gpu_type="a100", gpu_count=1, holder="job:c",
                                      disk_gb=40).node == node
    services.placement_release(holder="job:a")
    assert services.placement_reserve(project=project, gpu_type="a100", gpu_count=1, holder="job:b",
                                      disk_gb=60).node == node


def test_a_node_without_storage_places_by_gpus_alone(project):
    bare = make_node(gpus=2, name="no-storage", storage=False)
    assert services.placement_reserve(project=project, gpu_type="a100", gpu_count=1, holder="job:a",
                                      disk_gb=5000).node == bare
