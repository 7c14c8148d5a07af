"""The CLI and the SDK against a live server over real HTTP (no mocks)."""

import asyncio
import json
import stat

import pytest
from click.testing import CliRunner
from trainshed import Trainshed, TrainshedError
from trainshed.cli import main

from accounts.api_keys import api_key_create
from projects.models import Membership
from tests.factories import ProjectFactory, UserFactory, add_member

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def env(live_server, tmp_path, monkeypatch):
    for name in ("TRAINSHED_API_URL", "TRAINSHED_API_KEY", "TRAINSHED_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRAINSHED_CONFIG_DIR", str(tmp_path / "cfg"))
    return tmp_path / "cfg" / "config.json"


@pytest.fixture
def alice():
    user = UserFactory(email="alice@example.com")
    _key, raw = api_key_create(user=user, name="cli")
    user.raw_key = raw
    return user


def run(*args, input=None, env=None):
    return CliRunner().invoke(main, list(args), input=input, env=env, catch_exceptions=False)


def test_configure_asks_for_url_and_key_then_the_active_project(live_server, env, alice):
    vision = ProjectFactory(owner=alice, name="Vision")
    env.parent.mkdir(parents=True)
    env.write_text(json.dumps({"editor": "vim"}))

    result = run("configure", input=f"{live_server.url}\n{alice.raw_key}\nVision\n")

    assert result.exit_code == 0, result.output
    assert "Current Active Project: Personal" in result.output
    assert "Select Active Project: (Vision, Personal) [Personal]:" in result.output
    stored = json.loads(env.read_text())
    assert stored == {"editor": "vim", "api_url": live_server.url, "api_key": alice.raw_key,
                      "project": str(vision.pk)}
    assert stat.S_IMODE(env.stat().st_mode) == 0o600

    # Again: nothing more is asked, the current project is the default, Personal clears it.
    again = run("configure", input="\n")
    assert "Current Active Project: Vision" in again.output
    assert "API key" not in again.output
    assert json.loads(env.read_text())["project"] == str(vision.pk)
    run("configure", input="Nope\nPersonal\n")
    assert "project" not in json.loads(env.read_text())


def test_active_project_precedence_keyword_then_env_then_file(live_server, env, alice, monkeypatch):
    a, b, c = (ProjectFactory(owner=alice, name=n) for n in ("A", "B", "C"))
    env.parent.mkdir(parents=True)
    env.write_text(json.dumps({"api_url": live_server.url, "api_key": alice.raw_key, "project": str(a.pk)}))

    def active(**kwargs):
        return Trainshed(**kwargs).sync.account.me()["project"]["name"]

    assert active() == "A"
    monkeypatch.setenv("TRAINSHED_PROJECT", str(b.pk))
    assert active() == "B"
    assert active(project=str(c.pk)) == "C"
    monkeypatch.delenv("TRAINSHED_PROJECT")
    env.write_text(json.dumps({"api_url": live_server.url, "api_key": alice.raw_key}))
    assert active() == "Personal"


def test_project_list_table(live_server, env, alice, monkeypatch):
    monkeypatch.setenv("TRAINSHED_API_URL", live_server.url)
    monkeypatch.setenv("TRAINSHED_API_KEY", alice.raw_key)
    mine = ProjectFactory(owner=alice, name="Mine")
    bob = UserFactory(email="bob@example.com")
    theirs = ProjectFactory(owner=bob, name="Theirs")
    add_member(theirs, alice, jobs="read", datasets="read", models="read")

    result = run("project", "list")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["ID", "NAME", "OWNER", "MINE"]
    rows = {line.split()[1]: line.split() for line in lines[1:]}
    assert rows["Mine"] == [str(mine.pk), "Mine", "alice@example.com", "X"]
    assert rows["Theirs"] == [str(theirs.pk), "Theirs", "bob@example.com"]
    assert rows["Personal"][-1] == "X"


def test_member_add_update_remove_round_trip(live_server, env, alice, monkeypatch):
    monkeypatch.setenv("TRAINSHED_API_URL", live_server.url)
    monkeypatch.setenv("TRAINSHED_API_KEY", alice.raw_key)
    project = ProjectFactory(owner=alice, name="Team")
    bob = UserFactory(email="bob@example.com")
    monkeypatch.setenv("TRAINSHED_PROJECT", str(project.pk))

    added = run("project", "member", "add", "BOB@example.com", "--jobs", "all", "--datasets", "read",
                "--models", "read")
    assert added.exit_code == 0, added.output
    assert Membership.objects.get(project=project, user=bob).access() == {
        "jobs": "all", "datasets": "read", "models": "read"}

    updated = run("project", "member", "update", "bob@example.com", "--models", "all")
    assert updated.exit_code == 0, updated.output
    assert "models all" in updated.output
    assert Membership.objects.get(project=project, user=bob).access() == {
        "jobs": "all", "datasets": "read", "models": "all"}

    listed = run("project", "member", "list")
    assert "bob@example.com  all   read      all     member" in listed.output

    invited = run("project", "member", "add", "newcomer@example.com")
    assert "Invited newcomer@example.com" in invited.output

    removed = run("project", "member", "remove", "bob@example.com")
    assert removed.exit_code == 0
    assert not Membership.objects.filter(project=project, user=bob).exists()


def test_failures_are_one_line_on_stderr(live_server, env, alice, monkeypatch):
    monkeypatch.setenv("TRAINSHED_API_URL", live_server.url)
    monkeypatch.setenv("TRAINSHED_API_KEY", alice.raw_key)
    project = ProjectFactory(owner=alice, name="Team")

    own = CliRunner().invoke(main, ["project", "member", "add", "alice@example.com",
                                    "--project", str(project.pk)])
    assert own.exit_code == 1
    assert own.stderr.strip() == "Error: email: That is the owner's own address: the owner has full access."
    assert "Traceback" not in own.output

    monkeypatch.setenv("TRAINSHED_API_KEY", "ts_not-a-key")
    bad = CliRunner().invoke(main, ["project", "list"])
    assert bad.exit_code == 1
    assert bad.stderr.strip() == "Error: Missing, invalid, revoked or expired API key."

    monkeypatch.setenv("TRAINSHED_API_URL", "http://127.0.0.1:9")
    down = CliRunner().invoke(main, ["project", "list"])
    assert down.exit_code == 1 and down.stderr.startswith("Error: Cannot reach http://127.0.0.1:9")


def test_sdk_async_and_errors(live_server, env, alice):
    bob = UserFactory(email="bob@example.com")
    hidden = ProjectFactory(owner=bob, name="Hidden")
    ts = Trainshed(api_url=live_server.url, api_key=alice.raw_key)

    async def scenario():
        created = await ts.projects.create("From the SDK")
        names = [p["name"] for p in await ts.projects.list()]
        with pytest.raises(TrainshedError) as missing:
            await ts.projects.get(str(hidden.pk))
        return created, names, missing.value

    created, names, error = asyncio.run(scenario())
    assert created["is_owner"] and names == ["Personal", "From the SDK"]
    assert (error.status, error.detail) == (404, "Not found.")
    with pytest.raises(TrainshedError) as dup:
        ts.sync.members.add("alice@example.com", project_id=created["id"])
    assert dup.value.status == 400 and dup.value.field == "email"


# ---- datasets, models, keys, GPU types, billing ------------------------------------------------


@pytest.fixture
def as_alice(live_server, env, alice, monkeypatch):
    monkeypatch.setenv("TRAINSHED_API_URL", live_server.url)
    monkeypatch.setenv("TRAINSHED_API_KEY", alice.raw_key)
    return alice


def _tree(root) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_dataset_create_from_a_folder_then_download_gives_the_same_files(as_alice, tmp_path):
    from resources.models import Dataset

    source = tmp_path / "cifar"
    (source / "train" / "cats").mkdir(parents=True)
    (source / "train" / "cats" / "1.bin").write_bytes(bytes(range(256)) * 1000)
    (source / "labels.csv").write_text("id,label\n1,cat\n")
    (source / "train" / "notes.txt").write_text("über\n")

    created = run("dataset", "create", "CIFAR mini", "--path", str(source))
    assert created.exit_code == 0, created.output
    dataset = Dataset.objects.get(name="CIFAR mini")
    assert dataset.file_count == 3 and str(dataset.pk) in created.output

    listed = run("dataset", "list")
    assert "CIFAR mini" in listed.output and "ready" in listed.output

    dest = tmp_path / "copy"
    downloaded = run("dataset", "download", str(dataset.pk), str(dest))
    assert downloaded.exit_code == 0, downloaded.output
    assert _tree(dest) == _tree(source)

    # The SDK's single-file download, and the same for a model uploaded from one file.
    ts = Trainshed().sync
    ts.datasets.download_file(str(dataset.pk), "train/notes.txt", tmp_path / "notes.txt")
    assert (tmp_path / "notes.txt").read_text() == "über\n"
    model = ts.models.create("weights", path=source / "labels.csv")
    assert run("model", "download", model["id"], str(tmp_path / "m")).exit_code == 0
    assert _tree(tmp_path / "m") == {"labels.csv": b"id,label\n1,cat\n"}

    removed = run("dataset", "remove", str(dataset.pk))
    assert removed.exit_code == 0 and not Dataset.objects.filter(pk=dataset.pk).exists()
    gone = CliRunner().invoke(main, ["dataset", "download", str(dataset.pk), str(tmp_path / "x")])
    assert gone.exit_code == 1 and gone.stderr.strip() == "Error: Not found."
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = CliRunner().invoke(main, ["dataset", "create", "x", "--path", str(empty)])
    assert nothing.exit_code == 1 and "holds no files" in nothing.stderr
    assert "Traceback" not in gone.output + nothing.output


def test_key_put_from_stdin_then_list_shows_last4_only(as_alice):
    canary = "hf_CANARYcanaryCANARY9q8w"
    project = ProjectFactory(owner=as_alice, name="Team")

    put = run("project", "key", "put", "huggingface", "--secret-stdin", "--project", str(project.pk),
              input=canary + "\n")
    assert put.exit_code == 0, put.output
    listed = run("project", "key", "list", "--project", str(project.pk))
    assert listed.exit_code == 0
    assert listed.output.splitlines()[1].split()[:2] == ["huggingface", "…9q8w"]
    secret = run("project", "secret", "put", "WANDB_API_KEY", "--value-stdin", input=canary + "\n")
    assert secret.exit_code == 0  # the active project: Personal
    secrets = run("project", "secret", "list")
    assert "WANDB_API_KEY" in secrets.output and "…9q8w" in secrets.output
    for result in (put, listed, secret, secrets):
        assert "CANARY" not in result.output

    from projects import crypto
    from projects.models import ProjectKey

    assert crypto.decrypt(ProjectKey.objects.get(project=project).ciphertext) == canary
    assert run("project", "key", "remove", "huggingface", "--project", str(project.pk)).exit_code == 0
    assert "No keys are set." in run("project", "key", "list", "--project", str(project.pk)).output


def test_billing_prints_the_balance_and_gpu_types_list(as_alice):
    from tests.factories import make_node

    billing = run("billing")
    assert billing.exit_code == 0, billing.output
    assert billing.output.splitlines()[0] == "Balance: 1000.00 credits"

    make_node(gpu_type="a100")
    types = run("project", "gpu-types")
    assert types.exit_code == 0 and "a100" in types.output
