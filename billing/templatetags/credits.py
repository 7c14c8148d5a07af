"""How amounts of credits read on the billing pages."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template

register = template.Library()

CENT = Decimal("0.01")


def _decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        return None


@register.filter
def credits(value, exact=None) -> str:
    """An amount to the cent. One that shows as 0.00 though something was used (`exact`, the
    unrounded cost, or the value itself is not zero) reads "< 0.01": "0.00" would say it was free."""
    amount = _decimal(value)
    if amount is None:
        return ""
    used = _decimal(exact) if exact is not None else amount
    shown = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    if shown == 0 and used:
        return "< 0.01"
    return f"{shown:,.2f}"


@register.filter
def sig3(value) -> str:
    """Three significant digits (12.3, 0.00412, 1,230): members' usage compared at a glance."""
    amount = _decimal(value)
    if amount is None:
        return ""
    if amount == 0:
        return "0"
    for _ in range(2):  # 9.996 rounds up to 10.0: one more pass at the new magnitude
        exponent = amount.adjusted()
        rounded = amount.quantize(Decimal(1).scaleb(exponent - 2), rounding=ROUND_HALF_UP)
        if rounded.adjusted() == exponent:
            break
        amount = rounded
    if exponent >= 2:
        return f"{rounded:,.0f}"
    return f"{rounded:.{2 - exponent}f}"
