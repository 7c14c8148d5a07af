from django.urls import path

from resources import views

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
    *_patterns("datasets", "datasets", "dataset"),
    *_patterns("models", "models", "model"),
]
