from django.utils.functional import SimpleLazyObject

from billing.selectors import balance_status


def header_balance(request):
    """On billing pages the header shows the person's balance (and warns when it is low): read
    only there, and only when the header is drawn."""
    match = getattr(request, "resolver_match", None)
    user = getattr(request, "user", None)
    if match is None or match.namespace != "billing" or user is None or not user.is_authenticated:
        return {}
    return {"header_balance": SimpleLazyObject(lambda: balance_status(user=user))}
