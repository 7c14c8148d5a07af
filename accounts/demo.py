from django.conf import settings

from accounts.models import User
from accounts.services import user_create

DEMO_USERS = [
    ("alice@example.com", "Alice"),
    ("bob@example.com", "Bob"),
    ("carol@example.com", "Carol"),
]


def load(stdout) -> None:
    for email, name in DEMO_USERS:
        if not User.objects.filter(email=email).exists():
            user_create(
                email=email, password=settings.TRAINSHED_DEMO_PASSWORD, name=name, verified=True
            )
            stdout.write(f"  created {email}")


def user(email: str) -> User:
    return User.objects.get(email=email)
