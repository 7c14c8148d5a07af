"""Writes of keys and secrets: set, remove, copy from the Personal project, re-encrypt all."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from projects import access, crypto
from projects.audit import audit_record
from projects.keys.redaction import secrets_changed
from projects.keys.specs import KeyType, spec_for
from projects.keys.validation import _clean_secret, _gcp_details, _last4, clean_secret_name
from projects.models import Project, ProjectKey, ProjectSecret, RetiredSecret


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
    secrets_changed(project=project)
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
        secrets_changed(project=project)
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
    secrets_changed(project=project)
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
        secrets_changed(project=project)
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
        secrets_changed(project=project)
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
