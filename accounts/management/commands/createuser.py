from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.services import user_create
from core.forms import error_text


class Command(BaseCommand):
    help = (
        "Create an account with a verified e-mail (and so its Personal project). With --totp, "
        "its two-factor sign-in is set up too and the secret and recovery codes are printed once."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--password", help="Omit to create an account that cannot log in yet.")
        parser.add_argument("--name", default="")
        parser.add_argument("--staff", action="store_true", help="May use the admin site.")
        parser.add_argument(
            "--totp", action="store_true",
            help="Turn two-factor sign-in on with a new authenticator-app secret (printed once, "
                 "with its otpauth:// URL and recovery codes): for accounts that must have it from "
                 "the start, such as the owner of a project that requires it.",
        )

    def handle(self, *args, email, password, name, staff, totp, **options):
        try:
            with transaction.atomic():
                user = user_create(
                    email=email, password=password, name=name, verified=True, is_staff=staff
                )
                if totp:
                    secret = generate_totp_secret()
                    TOTP.activate(user, secret)
                    codes = RecoveryCodes.activate(user).get_unused_codes()
        except ValidationError as exc:
            raise CommandError(error_text(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Created {user.email} (id {user.pk})."))
        if totp:
            self.stdout.write(f"Two-factor sign-in: on. Authenticator secret: {secret}")
            self.stdout.write(f"  {get_mfa_adapter().build_totp_url(user, secret)}")
            self.stdout.write("Recovery codes (each works once): " + " ".join(codes))
        else:
            self.stdout.write("Two-factor sign-in: off (Account settings → Two-factor sign-in).")
