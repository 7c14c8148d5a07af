from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.settings_index, name="settings"),
    path("whoami/", views.whoami, name="whoami"),
    path("mail/", views.mail_preferences, name="mail-preferences"),
    path("notices/", views.notices, name="notices"),
    path("notices/<int:notice_id>/open/", views.notice_open, name="notice-open"),
    path("api-keys/", views.api_keys, name="api-keys"),
    path("api-keys/<int:key_id>/revoke/", views.api_key_revoke_view, name="api-key-revoke"),
    path("api-keys/revoke-all/", views.api_keys_revoke_all_view, name="api-keys-revoke-all"),
]
