from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User, normalize_email
from billing import services
from billing.models import BillingAccount
from core.forms import error_text


class Command(BaseCommand):
    help = "Grant credits to an account's billing account."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("amount")
        parser.add_argument("--note", default="", help="shown in the ledger")

    def handle(self, *args, email, amount, note, **options):
        person = User.objects.filter(email=normalize_email(email)).first()
        if person is None:
            raise CommandError(f"No account with the e-mail {email}.")
        account = BillingAccount.objects.get(owner=person)
        try:
            entry = services.credits_grant(
                account=account, amount=amount, note=note or "Granted by an operator"
            )
        except ValidationError as exc:
            raise CommandError(error_text(exc)) from exc
        self.stdout.write(
            f"Granted {entry.amount} credits to {person.email}; balance {services.balance(account)}."
        )
