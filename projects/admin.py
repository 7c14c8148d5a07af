from django.contrib import admin
from django.core.exceptions import PermissionDenied
from guardian.admin import GuardedModelAdmin

from core.admin_utils import ReadOnlyModelAdmin
from projects import services
from projects.models import AuditEvent, Invitation, LastProject, Membership, Project

PERMISSIONS_READ_ONLY = "Object permissions follow memberships: change them through the project."


@admin.register(Project)
class ProjectAdmin(GuardedModelAdmin):
    """Operators look: a project, its owner, its settings and its object permissions change only
    through the services (the owner's pages, the API, the management commands), which keep the
    permission rows, every member's cached access and the audit log in step."""

    list_display = ["name", "owner", "is_personal", "owned_compute_only", "require_two_factor", "created_at"]
    list_filter = ["is_personal", "owned_compute_only", "require_two_factor"]
    search_fields = ["name", "owner__email", "id"]
    list_select_related = ["owner"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Without an object it is guardian's question for its permissions page (read-only below).
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def obj_perms_manage_user_view(self, request, object_pk, user_id):
        if request.method == "POST":
            raise PermissionDenied(PERMISSIONS_READ_ONLY)
        return super().obj_perms_manage_user_view(request, object_pk, user_id)

    def obj_perms_manage_group_view(self, request, object_pk, group_id):
        if request.method == "POST":
            raise PermissionDenied(PERMISSIONS_READ_ONLY)
        return super().obj_perms_manage_group_view(request, object_pk, group_id)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Writes go through the services, so permissions and the audit log follow every change."""

    list_display = ["project", "user", "jobs", "datasets", "models", "updated_at"]
    list_filter = ["jobs", "datasets", "models"]
    search_fields = ["project__name", "user__email"]
    list_select_related = ["project", "user"]
    autocomplete_fields = ["project", "user"]

    def save_model(self, request, obj, form, change):
        saved = services.membership_set(
            project=obj.project, user=obj.user, jobs=obj.jobs, datasets=obj.datasets,
            models=obj.models, actor=None,
        )
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.membership_remove(project=obj.project, user=obj.user, actor=None)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("project", "user"):
            self.delete_model(request, membership)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "project_name", "actor", "action", "target"]
    list_filter = ["action"]
    search_fields = ["project_name", "actor__email", "target", "project__id"]
    list_select_related = ["actor"]


@admin.register(LastProject)
class LastProjectAdmin(ReadOnlyModelAdmin):
    """Each account's remembered active project (written by switching; operators only look)."""

    list_display = ["user", "project", "updated_at"]
    search_fields = ["user__email", "project__name"]
    list_select_related = ["user", "project"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "project", "status", "jobs", "datasets", "models", "created_at", "expires_at"]
    list_filter = ["status"]
    search_fields = ["email", "project__name"]
    list_select_related = ["project"]
    readonly_fields = [f.name for f in Invitation._meta.fields]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # invitations are sent by the owner's Add Member (or `manage.py addmember`)

    @admin.action(description="Revoke the selected pending invitations")
    def revoke(self, request, queryset):
        for invitation in queryset.filter(status=Invitation.Status.PENDING):
            services.invitation_revoke(invitation=invitation, actor=None)


from projects import admin_keys  # noqa: E402,F401  (keys and secrets, read-only)
