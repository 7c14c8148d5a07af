from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.settings_index, name="settings"),
    path("whoami/", views.whoami, name="whoami"),
    path("api-keys/", views.api_keys, name="api-keys"),
    path("api-keys/<int:key_id>/revoke/", views.api_key_revoke_view, name="api-key-revoke"),
    path("api-keys/revoke-all/", views.api_keys_revoke_all_view, name="api-keys-revoke-all"),
]
