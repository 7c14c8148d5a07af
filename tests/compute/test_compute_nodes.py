"""The Compute page: an owner adds, edits, drains and removes their own nodes and manages their
agents' tokens; operators register nodes from the command line."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from compute import services
from compute.models import ComputeNode, GpuType
from tests.factories import ProjectFactory, UserFactory, make_node

NODE_POST = {"name": "rig", "provider": "gcp", "region": "europe-west4", "gpu_type": "", "gpu_count": "4"}


@pytest.fixture
def a100():
    return GpuType.objects.get(slug="a100")


def test_catalogue_is_seeded(db):
    assert set(GpuType.objects.values_list("slug", flat=True)) >= {
        "cpu", "t4", "a4000", "a6000", "a100", "h100"
    }
    assert GpuType.objects.get(slug="h100").credits_per_gpu_hour > GpuType.objects.get(
        slug="t4").credits_per_gpu_hour


def test_owner_adds_a_node_gets_its_token_once_and_it_is_offline_until_its_agent_beats(
        client, owner, a100):
    client.force_login(owner)
    response = client.post(reverse("compute:node-create"), {**NODE_POST, "gpu_type": a100.pk})
    text = response.content.decode()
    assert "Node “rig” added. It is offline until its agent sends a heartbeat." in text
    assert response["Cache-Control"] == "no-store"
    token = response.context["token"]
    assert token.startswith("tsn_") and token in text and "trainshed-agent" in text
    node = ComputeNode.objects.get(owner=owner, name="rig")
    assert (node.gpu_count, node.state) == (4, "offline")
    assert token not in node.token_hash and services.node_by_token(raw=token) == node
    page = client.get(reverse("compute:node-list")).content.decode()
    assert token not in page and f"{node.token_prefix}…" in page  # never shown again
    services.node_heartbeat(node=node, hostname="rig.example", sandbox_ok=True)
    page = client.get(reverse("compute:node-list")).content.decode()
    assert "Online" in page and "rig.example" in page and "Sandboxed" in page


def test_a_new_token_replaces_the_old_and_a_revoked_one_is_refused(client, owner, a100):
    node = make_node(owner=owner, name="rig")
    client.force_login(owner)
    first = client.post(reverse("compute:node-token", kwargs={"node_id": node.pk})).context["token"]
    second = client.post(reverse("compute:node-token", kwargs={"node_id": node.pk})).context["token"]
    assert first != second
    assert services.node_by_token(raw=first) is None and services.node_by_token(raw=second) == node
    response = client.post(reverse("compute:node-token-revoke", kwargs={"node_id": node.pk}), follow=True)
    assert "its agent stops at its next request" in response.content.decode()
    assert services.node_by_token(raw=second) is None
    node.refresh_from_db()
    assert node.state == "offline"
    someone = make_node(owner=UserFactory(), name="theirs")
    assert client.post(reverse("compute:node-token", kwargs={"node_id": someone.pk})).status_code == 404
    assert client.post(reverse("compute:node-token-revoke",
                               kwargs={"node_id": someone.pk})).status_code == 404


def test_a_node_that_cannot_sandbox_says_why_on_the_compute_page(client, owner):
    make_node(owner=owner, name="old-box", sandbox_ok=False,
              sandbox_reason="bubblewrap (bwrap) is not installed")
    client.force_login(owner)
    page = client.get(reverse("compute:node-list")).content.decode()
    assert "No sandbox: only your jobs" in page and "bubblewrap (bwrap) is not installed" in page


def test_bad_input_names_the_field(client, owner, a100):
    make_node(owner=owner, name="rig")
    client.force_login(owner)
    response = client.post(
        reverse("compute:node-create"),
        {**NODE_POST, "gpu_type": a100.pk, "gpu_count": "0"},
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "gpu_count" in form.errors
    response = client.post(reverse("compute:node-create"), {**NODE_POST, "gpu_type": a100.pk})
    assert response.context["form"].errors["name"] == ["You already have a node named “rig”."]


def test_same_name_as_someone_elses_node_is_fine(client, owner, a100):
    make_node(owner=UserFactory(), name="rig")
    client.force_login(owner)
    client.post(reverse("compute:node-create"), {**NODE_POST, "gpu_type": a100.pk})
    assert ComputeNode.objects.filter(owner=owner, name="rig").exists()


def test_list_shows_only_my_nodes_with_gpus_in_use(client, owner):
    mine = make_node(owner=owner, name="mine", gpus=8)
    make_node(owner=UserFactory(), name="theirs", hostname="theirs.example")
    project = ProjectFactory(owner=owner, name="P")
    project.owned_compute_only = True
    project.save()
    services.placement_reserve(project=project, gpu_type="a100", gpu_count=3, holder="job:abc")
    client.force_login(owner)
    page = client.get(reverse("compute:node-list")).content.decode()
    assert "mine" in page and "theirs" not in page
    assert "3 / 8 × NVIDIA A100" in page and "job:abc" in page
    assert mine.pk


def test_list_page_query_count_is_flat(client, owner, django_assert_max_num_queries):
    for _ in range(5):
        make_node(owner=owner)
    client.force_login(owner)
    with django_assert_max_num_queries(15):
        client.get(reverse("compute:node-list"))


def test_someone_elses_node_is_404_everywhere(client, owner):
    node = make_node(owner=UserFactory())
    client.force_login(owner)
    kw = {"node_id": node.pk}
    assert client.get(reverse("compute:node-edit", kwargs=kw)).status_code == 404
    assert client.post(reverse("compute:node-drain", kwargs=kw)).status_code == 404
    assert client.post(reverse("compute:node-remove", kwargs=kw)).status_code == 404
    node.refresh_from_db()
    assert node.status == "online"


def test_public_nodes_cannot_be_changed_from_the_page(client, owner):
    node = make_node()
    client.force_login(owner)
    assert client.post(reverse("compute:node-drain", kwargs={"node_id": node.pk})).status_code == 404


def test_edit_drain_resume_remove(client, owner):
    node = make_node(owner=owner, name="rig", gpus=4)
    client.force_login(owner)
    kw = {"node_id": node.pk}
    response = client.post(
        reverse("compute:node-edit", kwargs=kw),
        {**NODE_POST, "gpu_type": node.gpu_type_id, "gpu_count": "6"}, follow=True,
    )
    assert "Node “rig” saved." in response.content.decode()
    node.refresh_from_db()
    assert node.gpu_count == 6

    response = client.post(reverse("compute:node-drain", kwargs=kw), headers={"HX-Request": "true"})
    assert "is draining" in response.content.decode() and "Resume" in response.content.decode()
    node.refresh_from_db()
    assert node.state == "draining"
    client.post(reverse("compute:node-resume", kwargs=kw))
    node.refresh_from_db()
    assert node.state == "online"

    assert "Remove node “rig”?" in client.get(reverse("compute:node-remove", kwargs=kw)).content.decode()
    response = client.post(reverse("compute:node-remove", kwargs=kw), follow=True)
    assert "Node “rig” removed." in response.content.decode()
    assert not ComputeNode.objects.filter(pk=node.pk).exists()


def test_removing_a_busy_node_is_refused_with_a_message(client, owner):
    node = make_node(owner=owner, name="busy", gpus=2)
    personal = owner.owned_projects.get(is_personal=True)
    services.placement_reserve(project=personal, gpu_type="a100", gpu_count=1, holder="job:1")
    client.force_login(owner)
    response = client.post(reverse("compute:node-remove", kwargs={"node_id": node.pk}), follow=True)
    assert "1 GPUs of “busy” are in use. Drain the node" in response.content.decode()
    assert ComputeNode.objects.filter(pk=node.pk).exists()


# ---- the worker's commands ------------------------------------------------------------------


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_register_creates_then_updates_and_prints_a_new_token(owner):
    out = run("node", "register", "--owner", owner.email, "--name", "dgx", "--gpu-type", "a100",
              "--gpus", "8")
    assert "registered node dgx" in out
    node = ComputeNode.objects.get(owner=owner, name="dgx")
    token = next(line.strip() for line in out.splitlines() if line.strip().startswith("tsn_"))
    assert services.node_by_token(raw=token) == node
    assert node.state == "offline" and node.gpu_count == 8  # until its agent's first heartbeat
    again = run("node", "register", "--owner", owner.email, "--name", "dgx", "--gpu-type", "a100",
                "--gpus", "4")
    assert ComputeNode.objects.get(pk=node.pk).gpu_count == 4
    assert services.node_by_token(raw=token) is None and "tsn_" in again


def test_register_public_node_and_bad_type(db):
    run("node", "register", "--public", "--name", "pub", "--gpu-type", "t4", "--gpus", "2")
    assert ComputeNode.objects.get(name="pub").is_public
    with pytest.raises(CommandError, match="--gpu-type: Unknown GPU type “tpu”"):
        run("node", "register", "--public", "--name", "x", "--gpu-type", "tpu", "--gpus", "1")
    with pytest.raises(CommandError, match="no account"):
        run("node", "register", "--owner", "nobody@example.com", "--name", "x", "--gpus", "1",
            "--gpu-type", "t4")


def test_token_command_rotates_and_revokes(owner):
    node = make_node(owner=owner, name="rig")
    token = run("node", "token", "rig").split("shown once; keep it on the node only):")[1].split()[0]
    assert services.node_by_token(raw=token) == node
    make_node(name="rig")
    with pytest.raises(CommandError, match="Several nodes are named rig"):
        run("node", "token", "rig")
    assert "token revoked" in run("node", "token", "rig", "--owner", owner.email, "--revoke")
    assert services.node_by_token(raw=token) is None


def test_refresh_gpu_types_command(project, owner):
    make_node(owner=owner, gpu_type="a6000")
    out = run("refresh_gpu_types", str(project.pk))
    assert "Vision Research: a6000" in out
    assert "refreshed 1 project(s)" in run("refresh_gpu_types", "--all")
    with pytest.raises(CommandError):
        run("refresh_gpu_types")


def test_demo_is_idempotent_and_leaves_the_offline_node_out(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    from accounts.models import User
    from compute import demo
    from projects.services import project_create

    run("demo")
    alice = User.objects.get(email="alice@example.com")
    vision = alice.owned_projects.filter(name="Vision Research").first() or project_create(
        owner=alice, name="Vision Research"
    )
    demo.load(io.StringIO())
    demo.load(io.StringIO())
    vision.refresh_from_db()
    assert vision.owned_compute_only
    names = set(ComputeNode.objects.filter(owner=alice).values_list("name", flat=True))
    assert names == {"workstation", "a100-rack"}
    assert ComputeNode.objects.public().filter(name="local").count() == 1
    from compute.selectors import available_gpu_types

    assert "a100" not in {t.slug for t in available_gpu_types(project=vision)}
    assert [t.slug for t in available_gpu_types(project=vision)] == [
        ComputeNode.objects.get(owner=alice, name="workstation").gpu_type.slug
    ]


def test_the_compute_page_shows_each_nodes_free_storage(client, owner):
    from django.urls import reverse

    from compute.services import placement_reserve

    make_node(owner=owner, name="measured", storage_free_bytes=123_400_000_000)
    make_node(owner=owner, name="never-measured", storage_free_bytes=None)
    project = owner.owned_projects.get(is_personal=True)
    placement_reserve(project=project, gpu_type="a100", gpu_count=1, holder="job:x", disk_gb=250)
    client.force_login(owner)
    page = client.get(reverse("compute:node-list")).content.decode()
    assert page.count("GB free") == 1 and "123 GB free" in page
    assert page.count("250 GB held by jobs") == 1
