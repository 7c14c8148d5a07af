"""Jobs, datasets and models: the resources that live inside a project.

Every resource belongs to exactly one project for its whole life: `project` is not editable (no
ModelForm, admin form or API field can change it) and every query starts from
`<Resource>.objects.in_project(project)`. The default manager stays unfiltered for the admin.
"""

import uuid

from django.conf import settings
from django.db import models

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
        if self.storage_node_id is None:
            return "Platform storage"
        return f"Node {self.storage_node.name}"

    @property
    def file_storage(self):
        """The Django storage that holds this resource's files."""
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

    # The job whose output this model is (its id as text: the Job model is written later and
    # may turn this into a foreign key).
    source_job_id = models.CharField(max_length=64, blank=True, editable=False)

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
