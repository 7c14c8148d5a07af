from django.apps import AppConfig


class ResourcesConfig(AppConfig):
    name = "resources"
    verbose_name = "Jobs, datasets and models"

    def ready(self):
        from resources import receivers  # noqa: F401
        from resources.jobs import receivers as job_receivers  # noqa: F401
