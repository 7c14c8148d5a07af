from django.urls import include, path

from projects import views

app_name = "projects"

urlpatterns = [
    path("switch/", views.switch, name="switch"),
    # Third-party keys and secrets (owner only) live in their own module.
    path("", include("projects.urls_keys")),
]
