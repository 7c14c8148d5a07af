from django.contrib import admin
from django.urls import include, path, re_path

from accounts import views as account_views
from config.api import api
from config.api import not_found as api_not_found
from projects import views as project_views

urlpatterns = [
    path("", project_views.home, name="home"),
    path("admin/", admin.site.urls),
    # Our login wraps allauth's (429 after repeated failures); the rest is allauth's.
    path("accounts/login/", account_views.LoginView.as_view(), name="account_login"),
    path("accounts/", include("allauth.urls")),
    path("account/", include("accounts.urls")),
    path("projects/", include("projects.urls")),
    path("", include("resources.urls")),
    path("compute/", include("compute.urls")),
    path("billing/", include("billing.urls")),
    path("api/v1/", api.urls),
    re_path(r"^api/v1/(?P<rest>.*)$", api_not_found),  # JSON 404 for any other API path
]

# The app's own pages (config/errors.py), with the header and a way back.
handler403 = "config.errors.forbidden"
handler404 = "config.errors.not_found"
