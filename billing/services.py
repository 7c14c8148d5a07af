from billing.models import BillingAccount


def billing_account_create(*, owner) -> BillingAccount:
    account = BillingAccount(owner=owner)
    account.full_clean()
    account.save()
    return account
