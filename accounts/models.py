from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.signals import account_created


def normalize_email(email: str) -> str:
    """The one spelling of an address Trainshed stores and compares: trimmed, lower case."""
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra) -> "User":
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> "User":
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str) -> "User":
        return self.get(email=normalize_email(username))


class User(AbstractBaseUser, PermissionsMixin):
    """An account. The e-mail address is the login; there is no username anywhere."""

    email = models.EmailField("e-mail address", unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False, help_text="May log in to the admin site.")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # Notice kinds (NoticeKind values) this person gets no e-mail for.
    # Database defaults too: rows written by code predating the fields (old migrations) get them.
    mail_off = models.JSONField(default=list, db_default=[], blank=True)
    # Unread notices, kept on the row every request loads anyway: the header's bell costs no query.
    notices_unread = models.PositiveIntegerField(default=0, db_default=0, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name or self.email.split("@")[0]

    def save(self, *args, **kwargs) -> None:
        # However an account comes to exist (sign-up, admin, createsuperuser, a command), its
        # Personal project and billing account are created in the same transaction.
        self.email = normalize_email(self.email)
        creating = self._state.adding
        with transaction.atomic(using=kwargs.get("using")):
            super().save(*args, **kwargs)
            if creating:
                account_created.send(sender=type(self), user=self)


class ApiKey(models.Model):
    """A per-account key for the REST API, CLI and SDK. Only its SHA-256 hash is stored; the full
    key is shown once, when it is created. `prefix` is the first characters, for telling keys apart.

    A key may be limited to one project (other projects answer 404, as if absent) and to reading
    (every write answers 403). The project is named by string so `accounts` imports nothing of ours.
    """

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # Deleting the project deletes the keys limited to it: a key never silently widens.
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        help_text="When set, the key works on this project only.",
    )
    read_only = models.BooleanField(default=False, help_text="When set, every write answers 403.")
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.is_expired else "active"


class NoticeKind(models.TextChoices):
    """What a person can be told about. Each kind's e-mail can be turned off in Account settings;
    the in-app notice is always kept."""

    MEMBER_ADDED = "member_added", "Added to a project"
    ACCESS_CHANGED = "access_changed", "Your access to a project changed"
    MEMBER_REMOVED = "member_removed", "Removed from a project"
    OWNERSHIP_OFFER = "ownership_offer", "A project's ownership offered to you"
    OWNERSHIP_ANSWER = "ownership_answer", "The answer to your ownership offer"
    JOB_ENDED = "job_ended", "A job you started finished or failed"
    LOW_CREDITS = "low_credits", "Your credits are below your warning threshold"
    SPENDING_STOPPED = "spending_stopped", "Jobs stopped: no credits left or a spending cap reached"


class Notice(models.Model):
    """One thing a person was told, in the app (and by e-mail unless they turned that kind off).

    `key` names the event: one notice (and so one e-mail) per person and event, whoever reports
    it and however often."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=32, choices=NoticeKind.choices)
    key = models.CharField(max_length=200)
    subject = models.CharField(max_length=200)
    text = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True, help_text="Where the notice leads (a path).")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="notice_once_per_event")]
        indexes = [models.Index(fields=["user", "-created_at"], name="notice_user_recent"),
                   models.Index(fields=["user"], condition=models.Q(read_at__isnull=True),
                                name="notice_user_unread")]

    def __str__(self) -> str:
        return f"{self.subject} → {self.user}"
