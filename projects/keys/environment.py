"""What a job of a project gets: its keys and secrets as environment variables and private files."""

from __future__ import annotations

import os
from pathlib import Path

from django.views.decorators.debug import sensitive_variables

from projects import crypto
from projects.keys.specs import GCP_CREDENTIALS_FILE, KEY_SPECS, KeyType
from projects.models import Project, ProjectKey, ProjectSecret


@sensitive_variables()
def _write_private_file(path: Path, content: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, content.encode("utf-8"))
    finally:
        os.close(fd)


@sensitive_variables()
def job_environment_and_files(*, project: Project, workspace: str) -> tuple[dict[str, str], dict[str, str]]:
    """The environment variables a job of `project` gets for its keys and secrets, and the
    private files it gets (relative path -> content), for a job whose workspace is `workspace`
    where it runs. Secrets come under their own names; keys under the names their tools expect
    (KEY_SPECS); the GCP service-account key is a file named by GOOGLE_APPLICATION_CREDENTIALS."""
    env: dict[str, str] = {}
    files: dict[str, str] = {}
    for key in ProjectKey.objects.filter(project=project).order_by("kind"):
        spec = KEY_SPECS[key.kind]
        plaintext = crypto.decrypt(key.ciphertext)
        for field in spec.public:
            if field.env and key.public.get(field.name):
                env[field.env] = key.public[field.name]
        for name in spec.secret_env:
            env[name] = plaintext
        if key.kind == KeyType.GCP:
            files[str(GCP_CREDENTIALS_FILE)] = plaintext
            env["GOOGLE_APPLICATION_CREDENTIALS"] = f"{workspace.rstrip('/')}/{GCP_CREDENTIALS_FILE}"
    for secret in ProjectSecret.objects.filter(project=project).order_by("name"):
        env[secret.name] = crypto.decrypt(secret.ciphertext)
    return env, files


@sensitive_variables()
def job_environment(*, project: Project, workspace: Path) -> dict[str, str]:
    """`job_environment_and_files` for a workspace on this machine: the files are written there
    (mode 600)."""
    root = Path(workspace).resolve()
    env, files = job_environment_and_files(project=project, workspace=str(root))
    for relative, content in files.items():
        _write_private_file(root / relative, content)
    return env
