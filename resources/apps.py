from django.apps import AppConfig


class ResourcesConfig(AppConfig):
    name = "resources"
    verbose_name = "Jobs, datasets and models"

    def ready(self):
        from resources.jobs import receivers  # noqa: F401
