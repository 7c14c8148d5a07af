"""Third-party keys and project secrets: what each key type holds, the writes (services), the reads
for display (selectors), and what a job gets (`job_environment`, `redactor`).

Who may call what:
- views, the API and the CLI go through `access.require(user, project, "secrets")` first (owner
  only, 404 for everyone else), then call the services below with `actor=request.user`;
- the jobs runner calls `job_environment()` and `redactor()` (no actor: it acts for the project).

No secret value is ever put into an exception message, an audit entry or a log line here; every
function that holds one is `@sensitive_variables` so a crash report shows none.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from config.statements import Statement, field_names
from projects import access, crypto
from projects.models import KeyType, Project, ProjectKey, ProjectSecret, RetiredSecret
from projects.services import audit_record

MAX_SECRET_LENGTH = 64 * 1024
GCP_CREDENTIALS_FILE = Path(".trainshed") / "gcp-credentials.json"
NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")


@dataclass(frozen=True)
class PublicField:
    """A non-secret part of a key (key id, user name, tenant…), shown to the owner after saving."""

    name: str
    label: str
    env: str | None
    required: bool = True
    placeholder: str = ""


@dataclass(frozen=True)
class KeySpec:
    kind: str
    label: str
    public: tuple[PublicField, ...]
    secret_label: str
    secret_env: tuple[str, ...]
    multiline: bool = False
    help: str = ""

    @property
    def env_names(self) -> tuple[str, ...]:
        names = [f.env for f in self.public if f.env] + list(self.secret_env)
        if self.kind == KeyType.GCP:
            names.append("GOOGLE_APPLICATION_CREDENTIALS")
        return tuple(names)


KEY_SPECS: dict[str, KeySpec] = {
    spec.kind: spec
    for spec in (
        KeySpec(
            KeyType.AWS, "AWS",
            (PublicField("key_id", "Access key ID", "AWS_ACCESS_KEY_ID", placeholder="AKIA…"),),
            "Secret access key", ("AWS_SECRET_ACCESS_KEY",),
        ),
        KeySpec(
            KeyType.AZURE, "Azure",
            (
                PublicField("client_id", "Client ID", "AZURE_CLIENT_ID"),
                PublicField("tenant_id", "Tenant ID", "AZURE_TENANT_ID"),
            ),
            "Client secret", ("AZURE_CLIENT_SECRET",),
        ),
        KeySpec(
            KeyType.GCP, "Google Cloud",
            (PublicField("project_id", "Project ID", "GOOGLE_CLOUD_PROJECT", required=False,
                         placeholder="read from the key file if empty"),),
            "Service-account key (JSON)", (), multiline=True,
            help="Jobs find it in a file named by GOOGLE_APPLICATION_CREDENTIALS.",
        ),
        KeySpec(
            KeyType.DOCKER, "Docker registry",
            (
                PublicField("username", "User name", "DOCKER_USERNAME"),
                PublicField("registry", "Registry", "DOCKER_REGISTRY", required=False,
                            placeholder="docker.io"),
            ),
            "Password or access token", ("DOCKER_PASSWORD",),
        ),
        KeySpec(
            KeyType.HUGGINGFACE, "Hugging Face", (), "Access token", ("HF_TOKEN",),
        ),
        KeySpec(
            KeyType.KAGGLE, "Kaggle",
            (PublicField("username", "User name", "KAGGLE_USERNAME"),),
            "API key", ("KAGGLE_KEY",),
        ),
        KeySpec(
            KeyType.NGC, "NVIDIA NGC",
            (PublicField("org", "Organization", "NGC_CLI_ORG", required=False),),
            "API key", ("NGC_API_KEY", "NGC_CLI_API_KEY"),
        ),
        KeySpec(
            KeyType.WASABI, "Wasabi",
            (PublicField("key_id", "Access key ID", "WASABI_ACCESS_KEY_ID"),),
            "Secret access key", ("WASABI_SECRET_ACCESS_KEY",),
        ),
        KeySpec(
            KeyType.GIT, "Git",
            (PublicField("username", "User name", "GIT_USERNAME"),),
            "Access token", ("GIT_TOKEN",),
        ),
    )
}

#: Environment names a secret may not take: those keys produce, and those the runner owns.
RESERVED_NAMES = frozenset(
    {name for spec in KEY_SPECS.values() for name in spec.env_names}
    | {"CUDA_VISIBLE_DEVICES", "PATH", "HOME"}
)
RESERVED_PREFIXES = ("TRAINSHED_",)


def spec_for(kind: str) -> KeySpec:
    try:
        return KEY_SPECS[kind]
    except KeyError:
        raise ValidationError({"kind": "Unknown key type."}) from None


# ---- validation --------------------------------------------------------------------------------


@sensitive_variables()
def _clean_secret(value: str | None, *, field: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: f"Enter the {what}."})
    if len(value) > MAX_SECRET_LENGTH:
        raise ValidationError({field: f"The {what} is longer than {MAX_SECRET_LENGTH} characters."})
    if "\x00" in value:
        raise ValidationError({field: f"The {what} contains a NUL character."})
    return value


def clean_secret_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Enter a name, e.g. WANDB_API_KEY."})
    if len(name) > 128:
        raise ValidationError({"name": "A name has at most 128 characters."})
    if not NAME_RE.match(name):
        raise ValidationError(
            {"name": "Use uppercase letters, digits and underscores, not starting with a digit "
                     "(e.g. WANDB_API_KEY)."}
        )
    if name in RESERVED_NAMES or name.startswith(RESERVED_PREFIXES):
        raise ValidationError(
            {"name": f"{name} is reserved (set by a third-party key or by Trainshed itself)."}
        )
    return name


@sensitive_variables()
def _gcp_details(secret: str) -> dict:
    try:
        data = json.loads(secret)
    except ValueError:
        data = None
    if not isinstance(data, dict) or "type" not in data:
        raise ValidationError(
            {"secret": "Paste the whole service-account key file: a JSON object with a \"type\"."}
        )
    return {
        "project_id": str(data.get("project_id") or ""),
        "private_key_id": str(data.get("private_key_id") or ""),
    }


def _last4(value: str) -> str:
    return value[-4:] if len(value) >= 8 else ""


# ---- services ------------------------------------------------------------------------------------


def _authorize(actor, project: Project) -> None:
    """`actor=None` is an operator or the system (management command, project creation)."""
    if actor is not None:
        access.require(actor, project, "secrets")


@sensitive_variables()
@transaction.atomic
def key_set(*, project: Project, kind: str, public: dict[str, str], secret: str | None, actor
            ) -> ProjectKey:
    """Set or replace the project's key of `kind`.

    `public` holds the type's public fields (see KEY_SPECS). When replacing, an empty `secret`
    keeps the stored one (so a key id can be corrected without re-typing the secret).
    """
    _authorize(actor, project)
    spec = spec_for(kind)
    existing = ProjectKey.objects.select_for_update().filter(project=project, kind=kind).first()
    cleaned_public: dict[str, str] = {}
    errors: dict[str, str] = {}
    for field in spec.public:
        value = str((public or {}).get(field.name) or "").strip()
        if len(value) > 255:
            errors[field.name] = f"{field.label} has at most 255 characters."
        elif field.required and not value:
            errors[field.name] = f"Enter the {field.label.lower()}."
        elif any(c.isspace() for c in value):
            errors[field.name] = f"{field.label} cannot contain spaces."
        cleaned_public[field.name] = value
    if existing is not None and not (secret or "").strip():
        plaintext = None
    else:
        try:
            plaintext = _clean_secret(secret, field="secret", what=spec.secret_label.lower())
        except ValidationError as exc:
            errors.update({k: v[0] for k, v in exc.message_dict.items()})
            plaintext = None
    if plaintext is not None and kind == KeyType.GCP and "secret" not in errors:
        try:
            details = _gcp_details(plaintext)
        except ValidationError as exc:
            errors.update({k: v[0] for k, v in exc.message_dict.items()})
        else:
            cleaned_public["project_id"] = cleaned_public["project_id"] or details["project_id"]
    if errors:
        raise ValidationError(errors)

    key = existing or ProjectKey(project=project, kind=kind)
    key.public = {k: v for k, v in cleaned_public.items() if v}
    if plaintext is not None and existing is not None:
        _retire_key(existing)
    if plaintext is not None:
        key.ciphertext = crypto.encrypt(plaintext)
        if kind == KeyType.GCP:
            key.last4 = _last4(_gcp_details(plaintext)["private_key_id"])
        else:
            key.last4 = _last4(plaintext)
    key.full_clean()
    key.save()
    audit_record(
        project=project, actor=actor,
        action="key.replaced" if existing else "key.set", target=f"{spec.label} key",
    )
    return key


@transaction.atomic
def key_remove(*, project: Project, kind: str, actor) -> bool:
    """Remove the project's key of `kind`; False if there was none."""
    _authorize(actor, project)
    spec = spec_for(kind)
    for old in ProjectKey.objects.filter(project=project, kind=kind):
        _retire_key(old)
    deleted, _ = ProjectKey.objects.filter(project=project, kind=kind).delete()
    if deleted:
        audit_record(project=project, actor=actor, action="key.removed", target=f"{spec.label} key")
    return bool(deleted)


@sensitive_variables()
@transaction.atomic
def secret_set(*, project: Project, name: str, value: str | None, actor) -> ProjectSecret:
    """Create the secret `name`, or replace its value."""
    _authorize(actor, project)
    errors: dict[str, str] = {}
    try:
        name = clean_secret_name(name)
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
    try:
        value = _clean_secret(value, field="value", what="value")
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    existing = ProjectSecret.objects.select_for_update().filter(project=project, name=name).first()
    secret = existing or ProjectSecret(project=project, name=name)
    if existing is not None:
        _retire_secret(existing)
    secret.ciphertext = crypto.encrypt(value)
    secret.last4 = _last4(value)
    secret.full_clean()
    secret.save()
    audit_record(
        project=project, actor=actor,
        action="secret.replaced" if existing else "secret.set", target=name,
    )
    return secret


@transaction.atomic
def secret_remove(*, project: Project, name: str, actor) -> bool:
    _authorize(actor, project)
    for old in ProjectSecret.objects.filter(project=project, name=name):
        _retire_secret(old)
    deleted, _ = ProjectSecret.objects.filter(project=project, name=name).delete()
    if deleted:
        audit_record(project=project, actor=actor, action="secret.removed", target=name)
    return bool(deleted)


# ---- retired values (still redacted from logs written later) --------------------------------------


def _retire_key(key: ProjectKey) -> None:
    """Keep the value `key` holds now, encrypted as it is, before it is replaced or removed."""
    RetiredSecret.objects.create(project_id=key.project_id, label=f"{key.get_kind_display()} key",
                                 kind=key.kind, ciphertext=key.ciphertext)


def _retire_secret(secret: ProjectSecret) -> None:
    RetiredSecret.objects.create(project_id=secret.project_id, label=f"secret {secret.name}",
                                 ciphertext=secret.ciphertext)


@sensitive_variables()
@transaction.atomic
def keys_copy_from_personal(*, project: Project, actor, include_secrets: bool = True) -> dict:
    """Copy the owner's Personal project's keys (and secrets) into `project`, as they are now.

    The copies are independent rows, re-encrypted with the first Fernet key: later changes on
    either side do not reach the other. A key type or secret name already set in `project` is
    replaced. Returns {"keys": [kinds], "secrets": [names]} copied.
    """
    _authorize(actor, project)
    if project.is_personal:
        raise ValidationError("The Personal project cannot copy keys from itself.")
    personal = Project.objects.personal_of(project.owner)
    copied: dict[str, list[str]] = {"keys": [], "secrets": []}
    for old in ProjectKey.objects.filter(project=project, kind__in=ProjectKey.objects.filter(
            project=personal).values("kind")):
        _retire_key(old)
    if include_secrets:
        for old in ProjectSecret.objects.filter(project=project, name__in=ProjectSecret.objects.filter(
                project=personal).values("name")):
            _retire_secret(old)
    for key in ProjectKey.objects.filter(project=personal):
        ProjectKey.objects.update_or_create(
            project=project, kind=key.kind,
            defaults={"public": dict(key.public), "ciphertext": crypto.rotate(key.ciphertext),
                      "last4": key.last4},
        )
        copied["keys"].append(key.kind)
    if include_secrets:
        for secret in ProjectSecret.objects.filter(project=personal):
            ProjectSecret.objects.update_or_create(
                project=project, name=secret.name,
                defaults={"ciphertext": crypto.rotate(secret.ciphertext), "last4": secret.last4},
            )
            copied["secrets"].append(secret.name)
    if copied["keys"] or copied["secrets"]:
        audit_record(
            project=project, actor=actor, action="keys.copied_from_personal",
            after={"keys": copied["keys"], "secrets": copied["secrets"]},
        )
    return copied


@transaction.atomic
def keys_rotate_all() -> tuple[int, int]:
    """Re-encrypt every stored key and secret with the first Fernet key (operators' command).

    All or nothing: if one value cannot be decrypted, nothing is changed and UndecryptableError
    says which row.
    """
    counts = []
    for model in (ProjectKey, ProjectSecret, RetiredSecret):
        n = 0
        for row in model.objects.select_for_update().only("pk", "ciphertext").order_by("pk"):
            try:
                token = crypto.rotate(row.ciphertext)
            except crypto.UndecryptableError:
                raise crypto.UndecryptableError(
                    f"{model.__name__} {row.pk} cannot be decrypted with any configured key; "
                    "nothing was re-encrypted."
                ) from None
            model.objects.filter(pk=row.pk).update(ciphertext=token)
            n += 1
        counts.append(n)
    return counts[0], counts[1]  # retired values are re-encrypted too, not counted


# ---- selectors (owner-facing display: never a secret, only whether it is set and its last 4) ----


@dataclass(frozen=True)
class KeyRow:
    spec: KeySpec
    key: ProjectKey | None

    @property
    def public_values(self) -> list[tuple[str, str]]:
        if self.key is None:
            return []
        return [(f.label, self.key.public[f.name]) for f in self.spec.public if self.key.public.get(f.name)]


# What the owner's keys section reads on every view: statements built once per process, the
# ciphertext left out (deferred).
_KEYS = Statement(lambda project: ProjectKey.objects.filter(project=project).values(
    *field_names(ProjectKey, but=("ciphertext",))))
_SECRETS = Statement(lambda project: ProjectSecret.objects.filter(project=project).order_by("name").values(
    *field_names(ProjectSecret, but=("ciphertext",))))


def keys_for_display(*, project: Project) -> list[KeyRow]:
    """One row per key type, in KEY_SPECS order, with the stored key (ciphertext deferred) or None."""
    stored = {k.kind: k for k in _KEYS.bind(project=project.pk).instances(ProjectKey)}
    return [KeyRow(spec=spec, key=stored.get(kind)) for kind, spec in KEY_SPECS.items()]


def secrets_for_display(*, project: Project) -> list[ProjectSecret]:
    """The project's secrets by name (ciphertext deferred)."""
    return _SECRETS.bind(project=project.pk).instances(ProjectSecret)


# ---- what a job gets -------------------------------------------------------------------------------


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


REDACTED = "***"
_MIN_FRAGMENT = 8
# Shorter values are not hidden inside other text: a 1-letter secret would turn every "e" of every
# log into ***. The key and secret forms say so.
MIN_REDACTED_LENGTH = 6


@sensitive_variables()
def _redactable_values(project: Project) -> set[str]:
    values: set[str] = set()
    rows = [*ProjectKey.objects.filter(project=project), *ProjectSecret.objects.filter(project=project),
            *RetiredSecret.objects.filter(project=project)]
    for row in rows:
        plaintext = crypto.decrypt(row.ciphertext)
        values.add(plaintext)
        # A multi-line value (a GCP key file, a PEM) is also printed piecemeal: each long line,
        # and for a key file each long string inside it (the private key, its id) as written out
        # and JSON-escaped.
        for line in plaintext.splitlines():
            if len(line.strip()) >= _MIN_FRAGMENT:
                values.add(line.strip())
        if getattr(row, "kind", None) == KeyType.GCP:
            try:
                data = json.loads(plaintext)
            except ValueError:
                data = {}
            for field in ("private_key", "private_key_id"):
                piece = str(data.get(field) or "")
                if len(piece) >= _MIN_FRAGMENT:
                    values.add(piece)
                    values.add(json.dumps(piece)[1:-1])
                    values.update(ln.strip() for ln in piece.splitlines()
                                  if len(ln.strip()) >= _MIN_FRAGMENT)
    return {v for v in values if len(v) >= MIN_REDACTED_LENGTH}


@sensitive_variables()
def redactor(*, project: Project) -> Callable[[str], str]:
    """A function that replaces every key secret and secret value of `project` in a text with ***.

    Built once per job (values as they are now); apply it to every log chunk served by the UI or
    the API. Longest values first, so a value containing another is hidden whole.
    """
    values = sorted(_redactable_values(project), key=len, reverse=True)
    if not values:
        return lambda text: text
    pattern = re.compile("|".join(re.escape(v) for v in values))

    def redact(text: str) -> str:
        return pattern.sub(REDACTED, text)

    return redact
