"""Response headers Django's SecurityMiddleware doesn't set: a Content-Security-Policy and
Permissions-Policy. Scripts only from this site (no inline handlers anywhere in the templates);
styles may be inline (style attributes); nothing may frame Trainshed."""

from urllib.parse import urlsplit

from django.conf import settings

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "object-src 'none'",
])
PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=()"


def csp() -> str:
    """The policy, its form-action widened to the single sign-on providers' origins: the sign-in
    form's POST is answered with a redirect to the provider, which form-action also governs."""
    apps = settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {}).get("APPS", ())
    origins = tuple(sorted({"{0.scheme}://{0.netloc}".format(urlsplit(app["settings"]["server_url"]))
                            for app in apps}))
    return CSP.replace("form-action 'self'", " ".join(["form-action 'self'", *origins])) if origins else CSP


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", csp())
        response.setdefault("Permissions-Policy", PERMISSIONS)
        return response
