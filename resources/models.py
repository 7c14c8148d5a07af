"""Jobs, datasets and models: the resources that live inside a project.

Every resource belongs to exactly one project for its whole life: `project` is not editable (no
ModelForm, admin form or API field can change it) and every query starts from
`<Resource>.objects.in_project(project)`. The default manager stays unfiltered for the admin.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from projects.models import Project

# ---------------------------------------------------------------------------------------------
# Shared by datasets and models (and, later, anything else stored as a tree of files)
# ---------------------------------------------------------------------------------------------


class ResourceQuerySet(models.QuerySet):
    def in_project(self, project: Project) -> "ResourceQuerySet":
        return self.filter(project=project)


class StoredStatus(models.TextChoices):
    NEW = "new", "New"
    DOWNLOADING = "downloading", "Downloading"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


IN_PROGRESS = (StoredStatus.NEW, StoredStatus.DOWNLOADING)


def location_label(node_name: str | None) -> str:
    """Where a dataset's or model's files are: the platform's storage, or the owner's node."""
    return f"Node {node_name}" if node_name else "Platform storage"


class StoredResource(models.Model):
    """A named tree of files in the platform's storage (or, later, the owner's node storage)."""

    Status = StoredStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", editable=False)
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=12, choices=StoredStatus.choices, default=StoredStatus.NEW)
    failure_reason = models.TextField(blank=True)
    size_bytes = models.BigIntegerField(default=0)
    file_count = models.PositiveIntegerField(default=0)
    location = models.CharField(max_length=64, default="platform", editable=False)
    # Set when the project is owned-compute-only: the files live on this node of the owner's.
    storage_node = models.ForeignKey(
        "compute.ComputeNode", null=True, blank=True, on_delete=models.PROTECT, editable=False,
        related_name="+",
    )
    source_url = models.URLField(max_length=2000, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ResourceQuerySet.as_manager()

    #: "datasets" or "models": the access type and the URL prefix.
    kind = ""

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def in_progress(self) -> bool:
        return self.status in IN_PROGRESS

    @property
    def location_label(self) -> str:
        return location_label(self.storage_node.name if self.storage_node_id else None)

    @property
    def file_storage(self):
        """The Django storage that holds this resource's files."""
        # resources.storage reaches compute's services: models stay importable on their own.
        from resources.storage import storage_for

        return storage_for(self.storage_node)

    @property
    def storage_prefix(self) -> str:
        """Where this resource's files live in the storage: `<kind>/<project>/<id>/`."""
        return f"{self.kind}/{self.project_id}/{self.pk}/"


class StoredFile(models.Model):
    """One file of a dataset or model: its path inside the resource and its size."""

    path = models.CharField(max_length=1000)
    size_bytes = models.BigIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["path"]

    def __str__(self) -> str:
        return self.path


# ---------------------------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------------------------


class Dataset(StoredResource):
    kind = "datasets"

    class Meta(StoredResource.Meta):
        indexes = [models.Index(fields=["project", "-created_at"])]


class DatasetFile(StoredFile):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="files")

    class Meta(StoredFile.Meta):
        constraints = [models.UniqueConstraint(fields=["dataset", "path"], name="datasetfile_unique")]


# ---------------------------------------------------------------------------------------------
# Models (trained weights). Named MLModel so it never shadows django.db.models.Model.
# ---------------------------------------------------------------------------------------------


class MLModel(StoredResource):
    kind = "models"

    # The job whose output this model is (a training job with output type "model").
    source_job = models.ForeignKey(
        "resources.Job", null=True, blank=True, on_delete=models.SET_NULL, editable=False,
        related_name="output_models",
    )

    class Meta(StoredResource.Meta):
        verbose_name = "model"
        verbose_name_plural = "models"
        indexes = [models.Index(fields=["project", "-created_at"])]


class ModelFile(StoredFile):
    model = models.ForeignKey(MLModel, on_delete=models.CASCADE, related_name="files")

    class Meta(StoredFile.Meta):
        constraints = [models.UniqueConstraint(fields=["model", "path"], name="modelfile_unique")]


#: kind -> (resource class, file class, foreign key name on the file class)
KINDS = {
    "datasets": (Dataset, DatasetFile, "dataset"),
    "models": (MLModel, ModelFile, "model"),
}


# ---------------------------------------------------------------------------------------------
# Jobs: notebooks, training, inference and endpoints, run by the worker on a compute node
# ---------------------------------------------------------------------------------------------


class JobType(models.TextChoices):
    NOTEBOOK = "notebook", "Notebook"
    TRAINING = "training", "Training"
    INFERENCE = "inference", "Inference"
    ENDPOINT = "endpoint", "Endpoint"


#: Types that serve until stopped; a stopped (or failed) one can be started again.
RESTARTABLE_TYPES = (JobType.NOTEBOOK, JobType.ENDPOINT)


class JobStatus(models.TextChoices):
    NEW = "new", "New"
    WAITING = "waiting", "Waiting for resources"
    STARTING = "starting", "Starting"
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Failed"
    STOPPED = "stopped", "Stopped"


#: Statuses in which a job holds (or waits for) GPUs and may be stopped.
JOB_ACTIVE = (JobStatus.WAITING, JobStatus.STARTING, JobStatus.RUNNING)
#: Statuses in which the job's process exists or is about to (deleting its inputs is refused).
JOB_ON_NODE = (JobStatus.STARTING, JobStatus.RUNNING)
JOB_ENDED = (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED)


class JobOutput(models.TextChoices):
    NONE = "none", "None"
    MODEL = "model", "Save output/ as a model"


class JobQuerySet(models.QuerySet):
    def in_project(self, project: Project) -> "JobQuerySet":
        """The project's jobs that were not removed (removed jobs stay as rows for metering)."""
        return self.filter(project=project, removed_at__isnull=True)

    def active(self) -> "JobQuerySet":
        return self.filter(status__in=JOB_ACTIVE)


def run_gpu_seconds(started_at, ended_at, gpu_count) -> float:
    """GPU-seconds of one run from its start to `ended_at`."""
    return max(0.0, (ended_at - started_at).total_seconds()) * gpu_count


def job_gpu_seconds(*, ended_gpu_seconds: float, status: str, started_at, gpu_count: int, now) -> float:
    """A job's GPU-seconds: those of its ended runs (kept on the job), plus, while it runs, its
    current run's so far. A job has an open run exactly while it is "running": the runner's
    transitions change the status and the run in one transaction."""
    if status == JobStatus.RUNNING and started_at is not None:
        return ended_gpu_seconds + run_gpu_seconds(started_at, now, gpu_count)
    return ended_gpu_seconds


class Job(models.Model):
    """One job. Its status changes are recorded as JobEvents, each start as a JobRun (what the
    billing accrual meters), its output (stdout + stderr) as JobLogChunks."""

    Type = JobType
    Status = JobStatus
    Output = JobOutput

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", editable=False)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=12, choices=JobType.choices, default=JobType.TRAINING)
    status = models.CharField(max_length=12, choices=JobStatus.choices, default=JobStatus.NEW,
                              editable=False)
    status_reason = models.TextField(blank=True, editable=False,
                                     help_text="Why the job failed, stopped or waits.")
    gpu_type = models.ForeignKey("compute.GpuType", on_delete=models.PROTECT, related_name="+")
    gpu_count = models.PositiveIntegerField("GPUs", default=1)
    disk_gb = models.PositiveIntegerField("disk size (GB)", default=20)
    command = models.TextField(blank=True, help_text="One command per line, run in order by sh -e.")
    env = models.JSONField("environment variables", default=dict, blank=True)
    input_datasets = models.ManyToManyField(Dataset, blank=True, related_name="jobs")
    input_model = models.ForeignKey(MLModel, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="input_of_jobs")
    output_type = models.CharField(max_length=8, choices=JobOutput.choices, default=JobOutput.NONE)
    port = models.PositiveIntegerField(null=True, blank=True,
                                       help_text="Endpoints: the port the command serves HTTP on.")
    # Where and how it runs (set by placement and the runner).
    node = models.ForeignKey("compute.ComputeNode", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", editable=False)
    gpu_indices = models.CharField(max_length=200, blank=True, editable=False)
    address = models.CharField(max_length=300, blank=True, editable=False,
                               help_text="host:port where a running endpoint answers (its agent says).")
    exit_code = models.IntegerField(null=True, blank=True, editable=False)
    # Times: the latest run's start and end, the runner's last sign of life.
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    ended_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_heartbeat = models.DateTimeField(null=True, blank=True, editable=False)
    stop_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    removed_at = models.DateTimeField(null=True, blank=True, editable=False)
    log_bytes = models.BigIntegerField(default=0, editable=False)
    # Newlines in the stored log, counted as chunks come: the job page says "last 200 of N lines"
    # without reading the whole log.
    log_lines = models.BigIntegerField(default=0, editable=False)
    # GPU-seconds of the job's ended runs, added where a run ends (`jobs.services`): lists show a
    # job's GPU time without reading its runs.
    ended_gpu_seconds = models.FloatField(default=0, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+", editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = JobQuerySet.as_manager()

    kind = "jobs"

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["project", "-created_at"]),
            models.Index(fields=["status", "last_heartbeat"]),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(gpu_count__gte=1), name="job_has_gpus"),
            models.CheckConstraint(
                condition=models.Q(port__isnull=True) | models.Q(port__gte=1, port__lte=65535),
                name="job_port_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def holder(self) -> str:
        """The compute reservation's holder name."""
        return f"job:{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in JOB_ACTIVE

    @property
    def is_ended(self) -> bool:
        return self.status in JOB_ENDED

    @property
    def is_restartable(self) -> bool:
        return self.type in RESTARTABLE_TYPES

    @property
    def can_start(self) -> bool:
        """New jobs start; ended notebooks/endpoints start again; a job that never ran (stopped
        while waiting, refused for credits) may be started again whatever its type."""
        if self.status == JobStatus.NEW:
            return True
        if self.status in (JobStatus.STOPPED, JobStatus.FAILED, JobStatus.FINISHED):
            return self.is_restartable or self.started_at is None
        return False

    @property
    def can_stop(self) -> bool:
        return self.status in JOB_ACTIVE

    def gpu_seconds(self, *, now=None) -> float:
        """GPU-seconds used over all runs."""
        return job_gpu_seconds(ended_gpu_seconds=self.ended_gpu_seconds, status=self.status,
                               started_at=self.started_at, gpu_count=self.gpu_count,
                               now=now or timezone.now())

    @property
    def gpu_hours(self) -> float:
        return self.gpu_seconds() / 3600


class JobRun(models.Model):
    """One start of a job: what the compute accrual meters, per minute from `started_at` up to
    min(`last_heartbeat`, `ended_at`). `ended_at` is empty while the run lasts."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    node = models.ForeignKey("compute.ComputeNode", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    gpu_type = models.ForeignKey("compute.GpuType", on_delete=models.PROTECT, related_name="+")
    gpu_count = models.PositiveIntegerField()

    class Meta:
        ordering = ["started_at", "id"]
        indexes = [models.Index(fields=["ended_at", "started_at"])]

    def __str__(self) -> str:
        return f"run of {self.job_id} from {self.started_at:%Y-%m-%d %H:%M}"


class JobEvent(models.Model):
    """A status change of a job, with its time and why (the status history on the job page)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=12, choices=JobStatus.choices)
    message = models.TextField(blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.job_id}: {self.status} at {self.at:%Y-%m-%d %H:%M:%S}"


class JobLogChunk(models.Model):
    """A piece of a job's output (whole lines), in order, redacted before it is stored (and again
    when served, for values set since)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="log_chunks")
    seq = models.PositiveIntegerField()
    text = models.TextField()
    # Where the chunk starts in the stored log, in UTF-8 bytes (the job's `log_bytes` before it):
    # a poll from an offset reads the chunks from there on, not the whole log.
    start = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "seq"]
        constraints = [models.UniqueConstraint(fields=["job", "seq"], name="joblogchunk_unique")]
        indexes = [models.Index(fields=["job", "start"], name="joblogchunk_start")]

    def __str__(self) -> str:
        return f"{self.job_id} #{self.seq}"


class PublicMoveStatus(models.TextChoices):
    MOVING = "moving", "Moving"
    DONE = "done", "Done"


class PublicMove(models.Model):
    """The owner's "Move" of an owned-only project's datasets and models from public storage to
    their node, done by a background task; the page shows it while it runs and its result after.
    `failures` holds [{"kind", "name", "reason"}] of those left where they were."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    node = models.ForeignKey("compute.ComputeNode", null=True, on_delete=models.SET_NULL, related_name="+")
    node_name = models.CharField(max_length=200)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=8, choices=PublicMoveStatus.choices, default=PublicMoveStatus.MOVING)
    moved = models.PositiveIntegerField(default=0)
    failures = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["project", "-created_at"], name="publicmove_project")]

    def __str__(self) -> str:
        return f"{self.project_id}: {self.status}"
