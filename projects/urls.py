from django.urls import include, path

from projects import views, views_mfa

app_name = "projects"

urlpatterns = [
    path("", views.project_list, name="list"),
    path("new/", views.project_create, name="create"),
    path("switch/", views.switch, name="switch"),
    path("switcher/", views.switcher_choices, name="switcher"),
    path("<uuid:project_id>/", views.project_detail, name="detail"),
    path("<uuid:project_id>/rename/", views.project_rename, name="rename"),
    path("<uuid:project_id>/delete/", views.project_delete, name="delete"),
    path("<uuid:project_id>/audit/", views.project_audit, name="audit"),
    path("<uuid:project_id>/members/add/", views.member_add, name="member-add"),
    path("<uuid:project_id>/members/<int:membership_id>/", views.member_update, name="member-update"),
    path("<uuid:project_id>/members/<int:membership_id>/remove/", views.member_remove, name="member-remove"),
    path(
        "<uuid:project_id>/invitations/<uuid:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation-revoke",
    ),
    path("<uuid:project_id>/leave/", views.project_leave, name="leave"),
    path("<uuid:project_id>/transfer/", views.transfer_offer, name="transfer-offer"),
    path("<uuid:project_id>/transfer/cancel/", views.transfer_cancel, name="transfer-cancel"),
    path("<uuid:project_id>/transfer/respond/", views.transfer_respond, name="transfer-respond"),
    path("<uuid:project_id>/two-factor/", views_mfa.two_factor_setting, name="two-factor"),
    # Third-party keys and secrets (owner only) live in their own module.
    path("", include("projects.urls_keys")),
]
