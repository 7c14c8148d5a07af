from django.contrib import admin

from resources.models import Dataset, DatasetFile, MLModel, ModelFile

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
