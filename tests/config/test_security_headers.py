import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_pages_carry_csp_and_other_security_headers(client, owner):
    for response in (client.get(reverse("account_login")), _signed_in(client, owner)):
        csp = response["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-eval" not in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"


def _signed_in(client, owner):
    client.force_login(owner)
    return client.get(reverse("projects:list"))


def test_no_inline_script_handlers_in_templates():
    """Inline handlers would be blocked by the CSP: behaviours live in static/js."""
    import re
    from pathlib import Path

    root = Path(settings.BASE_DIR) / "templates"
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.html")
        if re.search(r"\son(click|submit|change|input|load)\s*=|<script>(?!\s*</script>)", path.read_text())
    ]
    assert not offenders, offenders
