from django.apps import AppConfig


class DevServerConfig(AppConfig):
    """Listed before whitenoise's app so its `runserver` (which refuses a public address while
    DEBUG is on) is the one `manage.py runserver` finds."""

    name = "config.devserver"
    label = "trainshed_devserver"
