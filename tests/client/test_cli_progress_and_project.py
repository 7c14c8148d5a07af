"""The CLI's progress bars (uploads and downloads, on stderr) show in a terminal and stay out of
pipes; `project rename` and `project settings` take `--project` (default: the active project) and
have help text. Against a live server over real HTTP."""

import os
import sys

import pytest
from click.testing import CliRunner
from trainshed.cli import main

from accounts.api_keys import api_key_create
from projects.models import Project
from resources.models import Dataset
from tests.client.pty_run import run_in_pty
from tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def env(live_server, tmp_path, monkeypatch):
    alice = UserFactory(email="alice@example.com")
    project = ProjectFactory(owner=alice, name="Team")
    values = {"TRAINSHED_CONFIG_DIR": str(tmp_path / "cfg"), "TRAINSHED_API_URL": live_server.url,
              "TRAINSHED_API_KEY": api_key_create(user=alice, name="cli")[1],
              "TRAINSHED_PROJECT": str(project.pk)}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    data = tmp_path / "data"
    data.mkdir()
    (data / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    return project, data, values


def _in_terminal(args, values) -> str:
    return run_in_pty([sys.executable, "-c", "from trainshed.cli import main; main()", *args],
                      env={**os.environ, **values, "COLUMNS": "100"})


def test_upload_and_download_show_a_bar_in_a_terminal(env, tmp_path):
    project, data, values = env
    out = _in_terminal(["dataset", "create", "weights", "--path", str(data / "big.bin")], values)
    assert "Uploading weights" in out and "100%" in out and "3.00M" in out, out
    dataset = Dataset.objects.get(project=project, name="weights")
    assert dataset.size_bytes == 3 * 1024 * 1024

    out = _in_terminal(["dataset", "download", str(dataset.pk), str(tmp_path / "copy")], values)
    assert "Downloading" in out and "Downloaded 1 file(s)" in out, out
    assert (tmp_path / "copy" / "big.bin").read_bytes() == (data / "big.bin").read_bytes()


def test_piped_output_has_no_bar(env, tmp_path):
    project, data, _values = env
    result = CliRunner().invoke(main, ["dataset", "create", "weights", "--path", str(data)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Uploaded weights" in result.output
    assert "Uploading" not in result.output and "%|" not in result.output


def test_rename_and_settings_take_project_and_default_to_the_active_one(env, monkeypatch):
    project, _data, _values = env
    other = ProjectFactory(owner=project.owner, name="Other")
    run = CliRunner().invoke

    renamed = run(main, ["project", "rename", "Team two"], catch_exceptions=False)
    assert renamed.exit_code == 0 and "Renamed to Team two" in renamed.output
    assert Project.objects.get(pk=project.pk).name == "Team two"

    elsewhere = run(main, ["project", "rename", "Other two", "--project", str(other.pk)], catch_exceptions=False)
    assert elsewhere.exit_code == 0 and Project.objects.get(pk=other.pk).name == "Other two"

    shown = run(main, ["project", "settings", "--project", str(other.pk), "--owned-compute-only"],
                catch_exceptions=False)
    assert shown.exit_code == 0 and "Other two: owned compute only: yes" in shown.output
    assert Project.objects.get(pk=other.pk).owned_compute_only
    assert "Team two: owned compute only: no" in run(main, ["project", "settings"]).output

    for command in ("rename", "settings"):
        help_text = run(main, ["project", command, "--help"]).output
        assert "--project ID" in help_text and "default: the active project" in help_text
