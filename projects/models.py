import uuid

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.db import models
from django.db.models import Exists, F, Q
from django.db.models.functions import Lower
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from accounts.two_factor import FACTORS


class Access(models.TextChoices):
    """What a member may do with one resource type (jobs, datasets or models)."""

    NONE = "none", "None"
    READ = "read", "Read-Only"
    ALL = "all", "All"


RESOURCE_TYPES = ("jobs", "datasets", "models")


def locked_for(user_id, prefix: str = "") -> Q:
    """The condition, over Project (or a model reaching it by `prefix`, e.g. "project__"), that
    the project is locked for the account `user_id` (an id or an OuterRef): it requires
    two-factor sign-in of its members (projects.mfa) and this member has none."""
    return (
        Q(**{f"{prefix}require_two_factor": True})
        & ~Q(**{f"{prefix}owner_id": user_id})
        & ~Exists(Authenticator.objects.filter(user_id=user_id, type__in=FACTORS))
    )


class ProjectQuerySet(models.QuerySet):
    def for_user(self, user) -> "ProjectQuerySet":
        """Projects `user` may view: owned or shared, from the object permissions only.

        Model-wide permissions (superusers, staff) are never honoured here: operators use the admin.
        """
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        return self.viewable_by(user.pk)

    def viewable_by(self, user_id) -> "ProjectQuerySet":
        """`for_user` for an account known to be signed in and active, by its id."""
        return self.filter(
            user_perms__user_id=user_id, user_perms__permission__codename="view_project"
        ).exclude(locked_for(user_id))  # owner-required two-factor

    def with_owner_email(self) -> "ProjectQuerySet":
        """With `owner_email`, all the header and a project's pages show of its owner: one column
        instead of the owner's whole row."""
        return self.annotate(owner_email=F("owner__email"))

    def personal_of(self, user) -> "Project":
        return self.get(owner=user, is_personal=True)


class Project(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_projects"
    )
    is_personal = models.BooleanField(default=False, editable=False)
    owned_compute_only = models.BooleanField(
        "use only owned compute resources",
        default=False,
        help_text="Jobs run, and datasets and models are stored, only on the owner's nodes.",
    )
    require_two_factor = models.BooleanField(
        "members must use two-factor sign-in",
        default=False,
        db_default=False,  # rows written by code that predates the field (old migrations) get it too
        help_text="Members without two-factor sign-in cannot open the project until they turn it on.",
    )
    # Ownership transfer: the owner offers the project to a member, who accepts or declines.
    transfer_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="offered_projects",
    )
    transfer_offered_at = models.DateTimeField(null=True, blank=True)
    # Set when someone left (or was removed) with jobs still running: the owner's page then lists
    # them with a stop button. Read with the project's own row, so other pages pay no query.
    former_member_jobs_since = models.DateTimeField(null=True, blank=True, editable=False)
    # Bumped by every write to the project's keys, secrets and retired values: the job-log
    # redactor is kept per process under it (projects.keys.redaction), read with the project.
    secrets_version = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    # Bumped by every write to the project's memberships and invitations and by a member's new
    # e-mail address (projects.receivers): the member table is kept in the cache under it.
    members_version = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["-is_personal", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner"],
                condition=models.Q(is_personal=True),
                name="one_personal_project_per_owner",
            ),
            # Names people can tell apart: one owner's projects never share a name, whatever the
            # case (services also compare look-alikes; this is the database's last word).
            models.UniqueConstraint(Lower("name"), "owner", name="project_name_unique_per_owner_ci"),
        ]
        permissions = [
            ("view_jobs", "View jobs"),
            ("manage_jobs", "Create, edit, start, stop and delete jobs"),
            ("view_datasets", "View datasets"),
            ("manage_datasets", "Create, edit and delete datasets"),
            ("view_models", "View models"),
            ("manage_models", "Create, edit and delete models"),
            ("administer_project", "Administer the project (members, keys, settings)"),
        ]

    def __str__(self) -> str:
        return self.name


class ProjectUserObjectPermission(UserObjectPermissionBase):
    """django-guardian's direct-FK table: one row per (user, permission, project)."""

    content_object = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="user_perms")


class ProjectGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="group_perms"
    )


class Membership(models.Model):
    """The truth about a member's access. The owner has no row: ownership is Project.owner."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    jobs = models.CharField(max_length=4, choices=Access.choices, default=Access.ALL)
    datasets = models.CharField(max_length=4, choices=Access.choices, default=Access.READ)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Last: from here on the class body's `models` is this field, not the module.
    models = models.CharField(max_length=4, choices=Access.choices, default=Access.READ)

    class Meta:
        ordering = ["project", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique"),
            *[
                models.CheckConstraint(
                    condition=models.Q(**{f"{field}__in": Access.values}),
                    name=f"membership_{field}_valid",
                )
                for field in RESOURCE_TYPES
            ],
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project}"

    def access(self) -> dict[str, str]:
        return {field: getattr(self, field) for field in RESOURCE_TYPES}


class LastProject(models.Model):
    """The project a person last made active, put back into the session when they sign in (the
    session itself ends at sign-out). Personal is the default, so it has no row."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE,
                                related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user} last in {self.project}"


class AuditEvent(models.Model):
    """Append-only record of what happened in a project. Never holds a secret.

    `project` keeps its id after the project is deleted (no database constraint), so the
    "project deleted" entry survives for operators.
    """

    project = models.ForeignKey(
        Project,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="audit_events",
    )
    project_name = models.CharField(max_length=100)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=254, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.target}".strip()


class InvitationQuerySet(models.QuerySet):
    def pending(self) -> "InvitationQuerySet":
        """Sent and not yet accepted, revoked or marked expired (one past its date may still be
        here until `services.invitations_expire` runs)."""
        return self.filter(status=Invitation.Status.PENDING)


class Invitation(models.Model):
    """A pending membership for an e-mail address with no account yet.

    It becomes a Membership, with the access it carries, when someone verifies that exact address.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    jobs = models.CharField(max_length=4, choices=Access.choices, default=Access.ALL)
    datasets = models.CharField(max_length=4, choices=Access.choices, default=Access.READ)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Last: from here on the class body's `models` is this field, not the module.
    models = models.CharField(max_length=4, choices=Access.choices, default=Access.READ)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "email"],
                condition=models.Q(status="pending"),
                name="one_pending_invitation_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.project}"

    def access(self) -> dict[str, str]:
        return {field: getattr(self, field) for field in RESOURCE_TYPES}


# ---- Third-party keys and project secrets (owner only; encrypted at rest) -------------------


class KeyType(models.TextChoices):
    """The third-party services a project can hold one key for (see projects.keys.KEY_SPECS)."""

    AWS = "aws", "AWS"
    AZURE = "azure", "Azure"
    GCP = "gcp", "Google Cloud"
    DOCKER = "docker", "Docker registry"
    HUGGINGFACE = "huggingface", "Hugging Face"
    KAGGLE = "kaggle", "Kaggle"
    NGC = "ngc", "NVIDIA NGC"
    WASABI = "wasabi", "Wasabi"
    GIT = "git", "Git"


class ProjectKey(models.Model):
    """One third-party key of a project: its public part in clear, its secret only as ciphertext.

    Written only by projects.keys services; read (decrypted) only for a job's environment.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="third_party_keys")
    kind = models.CharField("type", max_length=16, choices=KeyType.choices)
    # The public part(s) by field name, e.g. {"key_id": "AKIA…"}; see KEY_SPECS for each type.
    public = models.JSONField(default=dict, blank=True)
    ciphertext = models.TextField(editable=False)
    last4 = models.CharField(max_length=4, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["project", "kind"], name="one_key_per_type"),
            models.CheckConstraint(
                condition=models.Q(kind__in=KeyType.values), name="projectkey_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} key of {self.project}"


class ProjectSecret(models.Model):
    """A named value (NAME=value) handed to the project's jobs; the value only as ciphertext."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="secrets")
    name = models.CharField(max_length=128)
    ciphertext = models.TextField(editable=False)
    last4 = models.CharField(max_length=4, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="one_secret_per_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} in {self.project}"


class RetiredSecret(models.Model):
    """A value a project's key or secret held before it was replaced or removed, kept encrypted
    only so job logs written later still hide it (a job started earlier may still print it)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="retired_secrets")
    # What it was, for an operator ("AWS key", "secret WANDB_API_KEY"); never the value.
    label = models.CharField(max_length=160)
    # "key" or "secret": a key's value is read as its type's (a GCP file yields its pieces).
    kind = models.CharField(max_length=16, blank=True)
    ciphertext = models.TextField(editable=False)
    retired_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "retired_at"]

    def __str__(self) -> str:
        return f"retired {self.label} of {self.project}"
