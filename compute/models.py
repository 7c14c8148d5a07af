"""GPU types, compute nodes, GPU reservations (placement) and each project's available GPU types."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

#: Disk sizes and capacities are decimal GB (as storage is billed).
BYTES_PER_GB = 10**9


def heartbeat_cutoff():
    """Nodes whose last heartbeat is older than this are offline."""
    return timezone.now() - timedelta(seconds=settings.TRAINSHED_NODE_HEARTBEAT_SECONDS)


class GpuType(models.Model):
    """One kind of accelerator, with its price. "cpu" is the GPU-less type (its "GPUs" are job slots)."""

    name = models.CharField(max_length=64, unique=True)
    slug = models.SlugField(max_length=32, unique=True)
    memory_gb = models.PositiveIntegerField("GPU memory (GB)", default=0)
    credits_per_gpu_hour = models.DecimalField(
        "credits per GPU-hour", max_digits=10, decimal_places=4, validators=[MinValueValidator(0)]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["credits_per_gpu_hour", "name"]
        verbose_name = "GPU type"
        constraints = [
            models.CheckConstraint(
                condition=Q(credits_per_gpu_hour__gte=Decimal("0")), name="gputype_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ComputeNodeQuerySet(models.QuerySet):
    def public(self) -> ComputeNodeQuerySet:
        return self.filter(owner__isnull=True)

    def owned_by(self, user) -> ComputeNodeQuerySet:
        """The nodes `user` owns (never public ones): every owner-facing query starts here."""
        if user is None or not getattr(user, "pk", None):
            return self.none()
        return self.filter(owner=user)

    def online(self) -> ComputeNodeQuerySet:
        """Accepting new work: marked online and heartbeat fresh (draining/offline excluded)."""
        return self.filter(
            status=ComputeNode.Status.ONLINE, last_heartbeat__gte=heartbeat_cutoff()
        )

    def with_storage(self) -> ComputeNodeQuerySet:
        return self.exclude(agent_url="").filter(storage_capacity_gb__gt=0)

    def with_usage(self) -> ComputeNodeQuerySet:
        return self.annotate(gpus_reserved=Coalesce(Sum("reservations__gpus"), 0),
                             disk_reserved_gb=Coalesce(Sum("reservations__disk_gb"), 0))


class ComputeNode(models.Model):
    """A machine that runs jobs and can store datasets and models.

    Public nodes belong to the platform (`owner` is empty); owned nodes belong to one account.
    A node is its id and its token: its agent authenticates with the token (compute.node_api), and
    reports its host name, storage and whether it can sandbox jobs. `status` is what the owner or
    agent said; the node is really online only while its heartbeat is fresh
    (`TRAINSHED_NODE_HEARTBEAT_SECONDS`), see `state`.
    """

    class Provider(models.TextChoices):
        PHYSICAL = "physical", "Physical machine"
        GCP = "gcp", "Google Cloud"
        AWS = "aws", "Amazon Web Services"
        AZURE = "azure", "Microsoft Azure"

    class Status(models.TextChoices):
        ONLINE = "online", "Online"
        OFFLINE = "offline", "Offline"
        DRAINING = "draining", "Draining"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=64)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="compute_nodes",
        help_text="Empty for a public (platform) node.",
    )
    provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.PHYSICAL)
    region = models.CharField(max_length=64, blank=True)
    hostname = models.CharField(max_length=253, blank=True, editable=False,
                                help_text="As the node's agent reports it.")
    gpu_type = models.ForeignKey(GpuType, on_delete=models.PROTECT, related_name="nodes")
    gpu_count = models.PositiveIntegerField("GPUs", validators=[MinValueValidator(1)])
    # Reported by the node's agent (its own configuration), never typed on a form.
    storage_path = models.CharField(max_length=500, blank=True, editable=False)
    storage_capacity_gb = models.PositiveIntegerField("storage capacity (GB)", default=0)
    storage_free_bytes = models.BigIntegerField(
        null=True, blank=True, editable=False,
        help_text="Free space where the node keeps its files, measured at its last heartbeat (empty: "
                  "not measured). A job is not placed on a node with less free space than its disk size.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OFFLINE)
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    # The node's identity: a token shown once, kept as its SHA-256 (empty: revoked or never issued).
    token_hash = models.CharField(max_length=64, blank=True, editable=False)
    token_prefix = models.CharField(max_length=16, blank=True, editable=False)
    token_issued_at = models.DateTimeField(null=True, blank=True, editable=False)
    # What the node's agent reports of itself at each heartbeat.
    agent_url = models.CharField(
        max_length=300, blank=True, editable=False,
        help_text="Where the agent serves notebooks and this node's stored files.")
    relay_secret = models.TextField(
        blank=True, editable=False,
        help_text="Signs the control plane's requests to the agent (Fernet-encrypted).")
    sandbox_ok = models.BooleanField(null=True, editable=False)
    sandbox_reason = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ComputeNodeQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="node_name_unique_per_owner"),
            models.UniqueConstraint(
                fields=["name"], condition=Q(owner__isnull=True), name="public_node_name_unique"
            ),
            models.CheckConstraint(condition=Q(gpu_count__gte=1), name="node_has_gpus"),
        ]
        indexes = [models.Index(fields=["status", "last_heartbeat"])]
        constraints += [
            models.UniqueConstraint(fields=["token_hash"], condition=~Q(token_hash=""),
                                    name="node_token_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_public(self) -> bool:
        return self.owner_id is None

    @property
    def heartbeat_fresh(self) -> bool:
        return self.last_heartbeat is not None and self.last_heartbeat >= heartbeat_cutoff()

    @property
    def runs_others_jobs(self) -> bool:
        """Whether jobs of accounts other than the node's owner may run here: only in a sandbox."""
        return bool(self.sandbox_ok)

    @property
    def state(self) -> str:
        """What the node is now: draining, online (fresh heartbeat) or offline."""
        if self.status == self.Status.DRAINING:
            return self.Status.DRAINING
        if self.status == self.Status.ONLINE and self.heartbeat_fresh:
            return self.Status.ONLINE
        return self.Status.OFFLINE

    @property
    def has_storage(self) -> bool:
        return self.storage_capacity_gb > 0

    @property
    def storage_free_gb(self) -> float | None:
        return None if self.storage_free_bytes is None else self.storage_free_bytes / BYTES_PER_GB


class Reservation(models.Model):
    """GPUs of one node (and disk of its storage) held by one holder (e.g. "job:<uuid>") until
    released."""

    node = models.ForeignKey(ComputeNode, on_delete=models.PROTECT, related_name="reservations")
    gpus = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    disk_gb = models.PositiveIntegerField(
        default=0, help_text="GB of the node's storage held, counted against its storage capacity.")
    holder = models.CharField(max_length=100, unique=True)
    label = models.CharField(max_length=200, blank=True, help_text="What holds it, for people.")
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(gpus__gte=1), name="reservation_has_gpus")]

    def __str__(self) -> str:
        return f"{self.holder}: {self.gpus} × {self.node_id}"


class ProjectCompute(models.Model):
    """The stored list of GPU types a project may use, as of its last refresh."""

    project = models.OneToOneField(
        "projects.Project", on_delete=models.CASCADE, related_name="compute"
    )
    gpu_types = models.ManyToManyField(GpuType, blank=True, related_name="+")
    owned_only_at_refresh = models.BooleanField(default=False)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    refreshed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "project compute"
        verbose_name_plural = "project compute"

    def __str__(self) -> str:
        return f"compute of {self.project_id}"
