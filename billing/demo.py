from billing import services
from billing.models import BillingAccount, LedgerEntry

DEMO_CREDITS = {"alice@example.com": 500, "bob@example.com": 200, "carol@example.com": 50}


def load(stdout) -> None:
    for email, amount in DEMO_CREDITS.items():
        account = BillingAccount.objects.filter(owner__email=email).first()
        key = f"demo-credit:{email}"
        if account is not None and not LedgerEntry.objects.filter(idempotency_key=key).exists():
            services.credits_grant(account=account, amount=amount, note="Welcome credits", key=key)
    stdout.write("  billing: welcome credits for the demo accounts")
