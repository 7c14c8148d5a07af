from django.contrib import admin

from compute import services
from compute.models import ComputeNode, GpuType, ProjectCompute, Reservation


@admin.register(GpuType)
class GpuTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "memory_gb", "credits_per_gpu_hour", "updated_at"]
    list_editable = ["credits_per_gpu_hour"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    # Project pages keep their GPU types' names (and order) until the project changes: a change
    # here marks the projects that offer the type as changed.
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change:
            services.gpu_type_changed(gpu_type=obj)

    def delete_model(self, request, obj):
        services.gpu_type_changed(gpu_type=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for gpu_type in queryset:
            services.gpu_type_changed(gpu_type=gpu_type)
        super().delete_queryset(request, queryset)


class PublicFilter(admin.SimpleListFilter):
    title = "ownership"
    parameter_name = "ownership"

    def lookups(self, request, model_admin):
        return [("public", "Public (platform)"), ("owned", "Owned")]

    def queryset(self, request, queryset):
        if self.value() == "public":
            return queryset.filter(owner__isnull=True)
        if self.value() == "owned":
            return queryset.filter(owner__isnull=False)
        return queryset


class ReservationInline(admin.TabularInline):
    model = Reservation
    extra = 0
    fields = ["holder", "gpus", "project", "created_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ComputeNode)
class ComputeNodeAdmin(admin.ModelAdmin):
    list_display = [
        "name", "owner", "provider", "region", "hostname", "gpu_type", "gpu_count", "status",
        "current_state", "last_heartbeat",
    ]
    list_filter = [PublicFilter, "status", "provider", "gpu_type", "region"]
    search_fields = ["name", "hostname", "region", "owner__email", "id"]
    list_select_related = ["owner", "gpu_type"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["id", "last_heartbeat", "created_at", "updated_at"]
    inlines = [ReservationInline]

    @admin.display(description="state now")
    def current_state(self, obj):
        return obj.state


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    """Read-only: placement writes these (`compute.services.placement_reserve`)."""

    list_display = ["holder", "node", "gpus", "project", "created_at"]
    search_fields = ["holder", "node__name", "project__name"]
    list_filter = ["node__gpu_type"]
    list_select_related = ["node", "project"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ProjectCompute)
class ProjectComputeAdmin(admin.ModelAdmin):
    list_display = ["project", "owned_only_at_refresh", "refreshed_at", "refreshed_by"]
    search_fields = ["project__name", "project__id"]
    list_select_related = ["project", "refreshed_by"]
    filter_horizontal = ["gpu_types"]
    readonly_fields = ["project", "refreshed_at", "refreshed_by", "owned_only_at_refresh"]

    def has_add_permission(self, request):
        return False

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # The list changed by hand: pages keep it until the project changes (compute.selectors).
        form.instance.project.save(update_fields=["updated_at"])
