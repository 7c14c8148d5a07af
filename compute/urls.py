from django.urls import path

from compute import views

app_name = "compute"

urlpatterns = [
    path("", views.node_list, name="node-list"),
    path("nodes/new/", views.node_create, name="node-create"),
    path("nodes/<uuid:node_id>/edit/", views.node_edit, name="node-edit"),
    path("nodes/<uuid:node_id>/drain/", views.node_drain, name="node-drain"),
    path("nodes/<uuid:node_id>/resume/", views.node_resume, name="node-resume"),
    path("nodes/<uuid:node_id>/remove/", views.node_remove, name="node-remove"),
    path("nodes/<uuid:node_id>/token/", views.node_token, name="node-token"),
    path("nodes/<uuid:node_id>/token/revoke/", views.node_token_revoke, name="node-token-revoke"),
    path("projects/<uuid:project_id>/", views.project_settings, name="project-settings"),
    path(
        "projects/<uuid:project_id>/settings/",
        views.project_settings_update_view,
        name="project-settings-update",
    ),
    path("projects/<uuid:project_id>/refresh/", views.project_gpu_refresh, name="project-gpu-refresh"),
]
