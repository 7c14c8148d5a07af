"""Projects and members over the REST API. Every rule is the services' and `access`'s: these
functions parse, look up through `project_by_id`, call one service, and shape the answer."""

import uuid
from datetime import datetime
from typing import Literal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from accounts.models import normalize_email
from core.api import ERRORS, Pagination, RowSchema, Text
from projects import access, keys, selectors, services
from projects.api_auth import project_by_id, refuse_restricted_key
from projects.models import Invitation, Membership, Project, ProjectKey, ProjectSecret

router = Router(tags=["projects"])

Level = Literal["none", "read", "all"]


class AccessOut(RowSchema):
    jobs: Level
    datasets: Level
    models: Level


# Resolved from the object for one project; a list's page is shaped by `_project_row`, after the
# access rules of the page alone were read (a comment: a docstring is the schema's description).
class ProjectOut(RowSchema):
    id: uuid.UUID
    name: str
    owner_email: str
    is_owner: bool
    is_personal: bool
    owned_compute_only: bool
    access: AccessOut

    @staticmethod
    def resolve_owner_email(project: Project) -> str:
        return project.owner.email

    @staticmethod
    def resolve_is_owner(project: Project, context) -> bool:
        return access.is_owner(context["request"].user, project)

    @staticmethod
    def resolve_access(project: Project, context) -> dict:
        return access.access_summary(context["request"].user, project)


class ProjectCreateIn(Schema):
    name: Text
    copy_personal_keys: bool = False


class ProjectPatchIn(Schema):
    name: Text | None = None
    owned_compute_only: bool | None = None


class MemberOut(Schema):
    email: str
    name: str
    status: Literal["member", "invited"]
    jobs: Level
    datasets: Level
    models: Level

    @staticmethod
    def resolve_status(row: dict) -> str:
        return row.get("listed_as") or row["status"]  # a listed row, or one `_member_out` shaped


class MemberIn(Schema):
    """Levels to set; one left out keeps its current value (or the default for someone new)."""

    jobs: Level | None = None
    datasets: Level | None = None
    models: Level | None = None


def _member_out(row: Membership | Invitation) -> dict:
    if isinstance(row, Membership):
        return {"email": row.user.email, "name": row.user.name, "status": "member", **row.access()}
    return {"email": row.email, "name": "", "status": "invited", **row.access()}


def _address(email: str) -> str:
    address = normalize_email(email)
    try:
        validate_email(address)
    except ValidationError as exc:
        raise ValidationError({"email": "Enter a valid e-mail address."}) from exc
    return address


def _membership(project: Project, address: str) -> Membership | None:
    return Membership.objects.filter(project=project, user__email=address).select_related("user").first()


# ---- projects ---------------------------------------------------------------------------------


def _project_row(user, project: Project) -> dict:
    """`ProjectOut`'s fields, as its resolvers give them (tests/api/test_api_list_items.py compares)."""
    return {"id": project.pk, "name": project.name, "owner_email": project.owner.email,
            "is_owner": access.is_owner(user, project), "is_personal": project.is_personal,
            "owned_compute_only": project.owned_compute_only,
            "access": access.access_summary(user, project)}


def _shape_page(request: HttpRequest, projects: list[Project]) -> list[dict]:
    access.perms_preload(request.user, projects)  # one query for the page, not one per project
    return [_project_row(request.user, project) for project in projects]


@router.get("/projects", response={200: list[ProjectOut], **ERRORS})
@paginate(Pagination, prepare=_shape_page)
def project_list(request: HttpRequest):
    """Every project the key's account can view (only the key's project for a limited key)."""
    # Only the columns ProjectOut and the access rules read (`mfa.lacks_required_mfa`): a page of
    # 100 projects and owners built with every column cost more than the rest of the answer.
    projects = selectors.projects_for_user(user=request.user).only(
        "name", "is_personal", "owned_compute_only", "require_two_factor", "owner__email")
    if request.auth.project_id is not None:
        projects = projects.filter(pk=request.auth.project_id)
    return projects


@router.post("/projects", response={201: ProjectOut, **ERRORS})
def project_create(request: HttpRequest, payload: ProjectCreateIn):
    refuse_restricted_key(request)
    project = services.project_create(
        owner=request.user, name=payload.name, copy_personal_keys=payload.copy_personal_keys
    )
    return Status(201, project)


@router.get("/projects/{project_id}", response={200: ProjectOut, **ERRORS})
def project_get(request: HttpRequest, project_id: uuid.UUID):
    return project_by_id(request, project_id)


@router.patch("/projects/{project_id}", response={200: ProjectOut, **ERRORS})
def project_update(request: HttpRequest, project_id: uuid.UUID, payload: ProjectPatchIn):
    """Rename and/or change settings (owner only)."""
    project = project_by_id(request, project_id, "project", "administer")
    with transaction.atomic():
        if payload.name is not None:
            services.project_rename(project=project, name=payload.name, actor=request.user)
        if payload.owned_compute_only is not None:
            services.project_settings_update(
                project=project, owned_compute_only=payload.owned_compute_only, actor=request.user
            )
    return project


@router.delete("/projects/{project_id}", response={204: None, **ERRORS})
def project_delete(request: HttpRequest, project_id: uuid.UUID):
    project = project_by_id(request, project_id, "project", "administer")
    services.project_delete(project=project, actor=request.user)
    return Status(204, None)


@router.post("/projects/{project_id}/leave", response={204: None, **ERRORS})
def project_leave(request: HttpRequest, project_id: uuid.UUID):
    project = project_by_id(request, project_id)
    services.project_leave(project=project, user=request.user)
    return Status(204, None)


# ---- members ------------------------------------------------------------------------------------


@router.get("/projects/{project_id}/members", response={200: list[MemberOut], **ERRORS})
@paginate(Pagination)
def member_list(request: HttpRequest, project_id: uuid.UUID):
    """The members; for the owner also the pending invitations (status "invited")."""
    project = project_by_id(request, project_id)
    return selectors.member_list_rows(project=project, invitations=access.is_owner(request.user, project))


@router.put("/projects/{project_id}/members/{path:email}",  # an address may hold "/"
            response={200: MemberOut, 201: MemberOut, **ERRORS})
def member_put(request: HttpRequest, project_id: uuid.UUID, email: str, payload: MemberIn):
    """Add a member (an address with no account yet gets an invitation: status "invited", 201) or
    change a member's access (200)."""
    project = project_by_id(request, project_id, "project", "administer")
    address = _address(email)
    given = payload.dict(exclude_none=True)
    membership = _membership(project, address)
    if membership is not None:
        levels = membership.access() | given
        user = membership.user
        membership = services.membership_set(project=project, user=user, actor=request.user, **levels)
        return Status(200, _member_out(membership))
    levels = {"jobs": "all", "datasets": "read", "models": "read"} | given
    row = services.member_add_by_email(project=project, email=address, actor=request.user, **levels)
    return Status(201, _member_out(row))


@router.delete("/projects/{project_id}/members/{path:email}", response={204: None, **ERRORS})
def member_delete(request: HttpRequest, project_id: uuid.UUID, email: str, keep_jobs: bool = False):
    """Remove a member, or revoke the pending invitation of that address. The member's waiting
    and placed jobs are cancelled; their running jobs are stopped too unless `keep_jobs=true`."""
    project = project_by_id(request, project_id, "project", "administer")
    address = _address(email)
    membership = _membership(project, address)
    if membership is not None:
        services.membership_remove(project=project, user=membership.user, actor=request.user,
                                   stop_running_jobs=not keep_jobs)
        return Status(204, None)
    invitation = Invitation.objects.pending().filter(project=project, email=address).first()
    if invitation is not None:
        services.invitation_revoke(invitation=invitation, actor=request.user)
        return Status(204, None)
    raise HttpError(404, f"{address} is not a member of this project.")


# ---- third-party keys and secrets (owner only: 404 for everyone else) ---------------------------
#
# `project_by_id(..., "secrets")` asks `access.require(user, project, "secrets")`, exactly like the
# web pages. No answer ever holds a secret: a key shows its public part and the last 4 characters.


class ThirdPartyKeyOut(Schema):
    type: str
    label: str
    key_id: str | None = Field(
        None, description="The key's main public part (key id, client id, user name…)."
    )
    public: dict[str, str]
    last4: str
    updated_at: datetime


class ThirdPartyKeyIn(Schema):
    """The type's public fields and the secret. Fields by type: aws, wasabi `key_id`; azure
    `client_id`, `tenant_id`; gcp `project_id` (optional: read from the key file) and the whole
    service-account JSON as `secret`; docker `username`, `registry` (optional); kaggle, git
    `username`; ngc `org` (optional); huggingface none. A field of another type is refused (400).
    When replacing a key, a missing or empty `secret` keeps the stored one."""

    key_id: Text | None = None
    client_id: Text | None = None
    tenant_id: Text | None = None
    project_id: Text | None = None
    username: Text | None = None
    registry: Text | None = None
    org: Text | None = None
    secret: Text | None = None


PUBLIC_FIELD_NAMES = sorted({f.name for spec in keys.KEY_SPECS.values() for f in spec.public})


class SecretOut(Schema):
    name: str
    last4: str
    updated_at: datetime


class SecretIn(Schema):
    value: Text


def _key_out(key: ProjectKey) -> dict:
    spec = keys.KEY_SPECS[key.kind]
    public = {f.name: key.public[f.name] for f in spec.public if key.public.get(f.name)}
    return {"type": key.kind, "label": spec.label, "key_id": next(iter(public.values()), None),
            "public": public, "last4": key.last4, "updated_at": key.updated_at}


def _secret_out(secret: ProjectSecret) -> dict:
    return {"name": secret.name, "last4": secret.last4, "updated_at": secret.updated_at}


def _key_spec(kind: str) -> keys.KeySpec:
    if kind not in keys.KEY_SPECS:
        raise HttpError(404, f"Unknown key type. Types: {', '.join(keys.KEY_SPECS)}.")
    return keys.KEY_SPECS[kind]


@router.get("/projects/{project_id}/keys", response={200: list[ThirdPartyKeyOut], **ERRORS}, tags=["keys"])
@paginate(Pagination)
def key_list(request: HttpRequest, project_id: uuid.UUID):
    """The project's third-party keys that are set (owner only). Never the secret: its last 4."""
    project = project_by_id(request, project_id, "secrets")
    return [_key_out(row.key) for row in keys.keys_for_display(project=project) if row.key]


@router.put("/projects/{project_id}/keys/{kind}",
            response={200: ThirdPartyKeyOut, 201: ThirdPartyKeyOut, **ERRORS}, tags=["keys"])
def key_put(request: HttpRequest, project_id: uuid.UUID, kind: str, payload: ThirdPartyKeyIn):
    """Set (201) or replace (200) the project's key of this type (aws, azure, gcp, docker,
    huggingface, kaggle, ngc, wasabi, git)."""
    project = project_by_id(request, project_id, "secrets")
    spec = _key_spec(kind)
    given = payload.dict(exclude_none=True)
    allowed = {f.name for f in spec.public}
    for name in PUBLIC_FIELD_NAMES:
        if name in given and name not in allowed:
            raise ValidationError({name: f"{spec.label} keys have no {name}"
                                         f" (fields: {', '.join(sorted(allowed)) or 'only secret'})."})
    is_new = not ProjectKey.objects.filter(project=project, kind=kind).exists()
    key = keys.key_set(project=project, kind=kind, public={n: given.get(n, "") for n in allowed},
                       secret=payload.secret, actor=request.user)
    return Status(201 if is_new else 200, _key_out(key))


@router.delete("/projects/{project_id}/keys/{kind}", response={204: None, **ERRORS}, tags=["keys"])
def key_delete(request: HttpRequest, project_id: uuid.UUID, kind: str):
    project = project_by_id(request, project_id, "secrets")
    spec = _key_spec(kind)
    if not keys.key_remove(project=project, kind=kind, actor=request.user):
        raise HttpError(404, f"No {spec.label} key is set.")
    return Status(204, None)


@router.get("/projects/{project_id}/secrets", response={200: list[SecretOut], **ERRORS}, tags=["keys"])
@paginate(Pagination)
def secret_list(request: HttpRequest, project_id: uuid.UUID):
    """The project's secrets (owner only): names and last 4 characters, never the value."""
    project = project_by_id(request, project_id, "secrets")
    return keys.secrets_listed(project=project)


@router.put("/projects/{project_id}/secrets/{name}", response={200: SecretOut, 201: SecretOut, **ERRORS},
            tags=["keys"])
def secret_put(request: HttpRequest, project_id: uuid.UUID, name: str, payload: SecretIn):
    """Create (201) or replace (200) the secret NAME, handed to the project's jobs as NAME=value."""
    project = project_by_id(request, project_id, "secrets")
    name = keys.clean_secret_name(name)
    is_new = not ProjectSecret.objects.filter(project=project, name=name).exists()
    secret = keys.secret_set(project=project, name=name, value=payload.value, actor=request.user)
    return Status(201 if is_new else 200, _secret_out(secret))


@router.delete("/projects/{project_id}/secrets/{name}", response={204: None, **ERRORS}, tags=["keys"])
def secret_delete(request: HttpRequest, project_id: uuid.UUID, name: str):
    project = project_by_id(request, project_id, "secrets")
    try:
        clean = keys.clean_secret_name(name)
    except ValidationError:
        clean = ""  # a name no secret can have
    if not clean or not keys.secret_remove(project=project, name=clean, actor=request.user):
        raise HttpError(404, f"No secret named {name} is set.")
    return Status(204, None)
