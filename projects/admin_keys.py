"""Operators see which keys and secrets exist (type, key id, last 4, when), never a value."""

from django.contrib import admin

from core.admin_utils import ReadOnlyModelAdmin
from projects.models import ProjectKey, ProjectSecret


class _ReadOnly(ReadOnlyModelAdmin):
    def get_queryset(self, request):
        return super().get_queryset(request).defer("ciphertext").select_related("project")


@admin.register(ProjectKey)
class ProjectKeyAdmin(_ReadOnly):
    list_display = ["project", "kind", "key_id", "last4", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["project__name", "project__id", "project__owner__email"]
    fields = ["project", "kind", "public", "last4", "created_at", "updated_at"]

    @admin.display(description="key id")
    def key_id(self, obj: ProjectKey) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(obj.public.items()))


@admin.register(ProjectSecret)
class ProjectSecretAdmin(_ReadOnly):
    list_display = ["project", "name", "last4", "updated_at"]
    search_fields = ["name", "project__name", "project__id", "project__owner__email"]
    fields = ["project", "name", "last4", "created_at", "updated_at"]
