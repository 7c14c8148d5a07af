from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("ledger.csv", views.ledger_csv, name="ledger-csv"),
    path("ledger/", views.ledger_group, name="ledger-group"),
    path("low-balance/", views.low_balance, name="low-balance"),
    path("charge-to/", views.charge_to, name="charge-to"),
    path("allowed/", views.allow_user, name="allow-user"),
    path("allowed/<int:user_id>/remove/", views.disallow_user, name="disallow-user"),
    path("projects/<uuid:project_id>/budget/", views.project_budget, name="project-budget"),
]
