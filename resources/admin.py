from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from core.forms import error_text
from resources.jobs.services import job_stop_by_operator
from resources.models import Dataset, DatasetFile, Job, JobEvent, JobRun, MLModel, ModelFile

READONLY = ("status", "failure_reason", "project", "location", "source_url", "created_by",
            "created_at", "updated_at", "size_bytes", "file_count")


class _FileInline(admin.TabularInline):
    fields = ("path", "size_bytes")
    readonly_fields = ("path", "size_bytes")
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


class DatasetFileInline(_FileInline):
    model = DatasetFile


class ModelFileInline(_FileInline):
    model = ModelFile


class _ResourceAdmin(admin.ModelAdmin):
    """The project is shown, never editable: resources do not move between projects. Files are
    written only by the services, so the admin cannot add them either."""

    list_display = ("name", "project", "status", "size_bytes", "file_count", "created_by", "created_at")
    list_filter = ("status", "location", "created_at")
    search_fields = ("name", "project__name", "created_by__email", "id")
    list_select_related = ("project", "created_by")
    readonly_fields = READONLY
    fields = ("name", *READONLY)

    def has_add_permission(self, request):
        return False  # created by upload/URL/job, never by hand (files and rows stay in step)


@admin.register(Dataset)
class DatasetAdmin(_ResourceAdmin):
    inlines = [DatasetFileInline]


@admin.register(MLModel)
class MLModelAdmin(_ResourceAdmin):
    inlines = [ModelFileInline]
    readonly_fields = (*READONLY, "source_job")
    fields = ("name", *READONLY, "source_job")


# ---- jobs: read-mostly, with an operator's stop ------------------------------------------------

JOB_FIELDS = ("name", "project", "type", "status", "status_reason", "node", "gpu_type", "gpu_count",
              "gpu_indices", "disk_gb", "command", "env", "input_model", "output_type", "port", "address",
              "exit_code", "started_at", "ended_at", "last_heartbeat", "stop_requested_at", "removed_at",
              "log_bytes", "log_lines", "ended_gpu_seconds", "created_by", "created_at", "updated_at")


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class JobRunInline(_ReadOnlyInline):
    model = JobRun
    fields = readonly_fields = ("started_at", "ended_at", "last_heartbeat", "node", "gpu_type", "gpu_count",
                                "started_by")


class JobEventInline(_ReadOnlyInline):
    model = JobEvent
    fields = readonly_fields = ("at", "status", "message", "actor")
    ordering = ("at", "id")


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """What operators look at: every field shown, none edited (jobs change through their
    services: the runner's transitions, people's start/stop). The one action is a stop, through
    `job_stop_by_operator`, which says on the job and in the project's audit log who stopped it."""

    list_display = ("name", "project", "type", "status", "node", "gpu_type", "gpu_count", "created_by",
                    "created_at")
    list_filter = ("status", "type", "gpu_type", "node", "created_at")
    search_fields = ("name", "id", "project__name", "created_by__email", "node__name")
    list_select_related = ("project", "node", "gpu_type", "created_by")
    readonly_fields = fields = JOB_FIELDS
    inlines = [JobRunInline, JobEventInline]
    actions = ["stop_jobs"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # the change page shows the job; its form saves nothing

    def has_delete_permission(self, request, obj=None):
        return False  # removal goes through the project's people (`job_remove`), never a row delete

    @admin.action(description="Stop the selected jobs (an operator's stop, audited)")
    def stop_jobs(self, request, queryset):
        stopped, refused = 0, []
        for job in queryset.select_related("project"):
            try:
                job_stop_by_operator(job=job, operator=request.user)
            except ValidationError as exc:
                refused.append(f"{job.name}: {error_text(exc)}")
            else:
                stopped += 1
        if stopped:
            self.message_user(request, f"Stopping {stopped} job(s).", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)
