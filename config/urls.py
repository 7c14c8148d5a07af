from django.contrib import admin
from django.urls import include, path

from projects import views as project_views

urlpatterns = [
    path("", project_views.home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("account/", include("accounts.urls")),
    path("projects/", include("projects.urls")),
    path("", include("resources.urls")),
    path("compute/", include("compute.urls")),
    path("billing/", include("billing.urls")),
]
