from allauth.account.models import EmailAddress
from django.db import transaction

from accounts.models import User, normalize_email


@transaction.atomic
def user_create(
    *, email: str, password: str | None, name: str = "", verified: bool = False, **extra
) -> User:
    """Create an account (its Personal project and billing account come with it).

    `verified=True` records the address as verified and primary, as operators' commands and the
    demo need; sign-ups verify through allauth's mail instead.
    """
    user = User(email=normalize_email(email), name=name, **extra)
    user.set_password(password)
    user.full_clean(exclude=["password"] if password is None else None)
    user.save()
    if verified:
        EmailAddress.objects.update_or_create(
            user=user, email=user.email, defaults={"verified": True, "primary": True}
        )
    return user
