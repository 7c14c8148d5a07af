from django.apps import AppConfig


class TrainshedConfig(AppConfig):
    """Holds the commands that span every app: `demo`, `serve`, `doctor`."""

    name = "config"
    label = "trainshed"
    verbose_name = "Trainshed"

    def ready(self) -> None:
        from config import db  # noqa: F401  (connects its receiver)
