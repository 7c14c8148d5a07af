from django.urls import path

from resources import views
from resources.jobs import views as job_views
from resources.jobs import views_copy
from resources.jobs.views_removal import former_member_job_stop_view
from resources.views_owned_only import public_leftovers_choose, public_leftovers_view

app_name = "resources"


def _patterns(kind: str, prefix: str, name: str) -> list:
    k = {"kind": kind}
    return [
        path(f"{prefix}/", views.resource_list, k, name=f"{name}-list"),
        path(f"{prefix}/new/", views.resource_create, k, name=f"{name}-create"),
        path(f"{prefix}/new/from-url/", views.resource_import, k, name=f"{name}-import"),
        path(f"{prefix}/<uuid:pk>/", views.resource_detail, k, name=f"{name}-detail"),
        path(f"{prefix}/<uuid:pk>/download/", views.resource_download, k, name=f"{name}-download"),
        path(f"{prefix}/<uuid:pk>/files/<path:path>", views.resource_file, k, name=f"{name}-file"),
        path(f"{prefix}/<uuid:pk>/rename/", views.resource_rename, k, name=f"{name}-rename"),
        path(f"{prefix}/<uuid:pk>/delete/", views.resource_delete, k, name=f"{name}-delete"),
    ]


urlpatterns = [
    path("jobs/", job_views.job_list, name="job-list"),
    path("jobs/new/", job_views.job_create, name="job-create"),
    path("jobs/<uuid:pk>/", job_views.job_detail, name="job-detail"),
    path("jobs/<uuid:pk>/log/", job_views.job_log, name="job-log"),
    path("jobs/<uuid:pk>/log/part/", job_views.job_log_part, name="job-log-part"),
    path("jobs/<uuid:pk>/open/", job_views.job_open, name="job-open"),
    path("jobs/<uuid:pk>/start/", job_views.job_start, name="job-start"),
    path("jobs/<uuid:pk>/stop/", job_views.job_stop, name="job-stop"),
    path("jobs/<uuid:pk>/remove/", job_views.job_remove, name="job-remove"),
    path("jobs/<uuid:pk>/run-again/", views_copy.job_run_again, name="job-run-again"),
    path("jobs/<uuid:pk>/copy/", views_copy.job_copy, name="job-copy"),
    path("projects/<uuid:project_id>/former-member-jobs/<uuid:pk>/stop/", former_member_job_stop_view,
         name="former-member-job-stop"),
    path("projects/<uuid:project_id>/public-compute/", public_leftovers_view, name="public-leftovers"),
    path("projects/<uuid:project_id>/public-compute/choose/", public_leftovers_choose,
         name="public-leftovers-choose"),
    *_patterns("datasets", "datasets", "dataset"),
    *_patterns("models", "models", "model"),
]
