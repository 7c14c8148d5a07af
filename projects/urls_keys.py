"""Third-party keys and secrets: owner only (everyone else gets 404). Included by projects.urls."""

from django.urls import path

from projects import views_keys

urlpatterns = [
    path("<uuid:project_id>/keys/", views_keys.keys_page, name="keys"),
    path("<uuid:project_id>/keys/<slug:kind>/", views_keys.key_set, name="key-set"),
    path("<uuid:project_id>/keys/<slug:kind>/remove/", views_keys.key_remove, name="key-remove"),
    path("<uuid:project_id>/secrets/", views_keys.secret_set, name="secret-set"),
    path("<uuid:project_id>/secrets/<str:name>/remove/", views_keys.secret_remove,
         name="secret-remove"),
]
