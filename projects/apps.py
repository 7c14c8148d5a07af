from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Projects"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from projects import access, receivers  # noqa: F401

        # After auth's create_permissions (connected by an app listed before this one).
        post_migrate.connect(access.read_permission_ids, sender=self, dispatch_uid="projects.permission_ids")
