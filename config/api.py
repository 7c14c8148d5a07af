"""The REST API root: /api/v1/. Each app contributes a `router` in `<app>/api.py`; this module
mounts every one it finds in API_APPS, so adding an app's endpoints touches only that app.
Shared pieces live in `core.api` (errors, pagination) and `projects.api_auth` (keys, project lookup).
"""


import importlib
import uuid
from datetime import datetime

from django.http import HttpRequest, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from ninja import Header, NinjaAPI, Schema
from ninja.openapi.docs import DocsBase

from core.api import ERRORS, install_error_handlers
from projects.api_auth import PROJECT_HEADER, ApiKeyAuth, active_project

#: Apps whose `api.py` holds a `router` (a ninja Router). Mounted at the API root, in this order.
API_APPS = ["projects", "resources", "compute", "billing", "accounts"]


class VendoredSwagger(DocsBase):
    """Swagger UI from static/vendor/swagger-ui (no CDN at run time)."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs):
        return render(request, "api/docs.html", {"openapi_url": self.get_openapi_url(api, kwargs)})


api = NinjaAPI(
    title="Trainshed API",
    version="1.0.0",  # URL names live in the "api-1.0.0" namespace
    description=(
        "Authenticate with `Authorization: Bearer <API key>` (Account settings → API keys). "
        f"Choose the project per request with the `{PROJECT_HEADER}: <project id>` header; "
        "without it, the Personal project. Errors are JSON: `{\"detail\": \"…\", \"field\": \"…\"}`."
    ),
    auth=ApiKeyAuth(),
    docs=VendoredSwagger(),
    openapi_url="/openapi.json",
    docs_url="/docs",
)
install_error_handlers(api)


# ---- who am I ----------------------------------------------------------------------------------


class KeyOut(Schema):
    name: str
    prefix: str
    project_id: uuid.UUID | None
    read_only: bool
    expires_at: datetime | None


class ProjectRef(Schema):
    id: uuid.UUID
    name: str
    is_personal: bool


class MeOut(Schema):
    email: str
    name: str
    key: KeyOut
    project: ProjectRef


@api.get("/me", response={200: MeOut, **ERRORS}, tags=["account"])
def me(request: HttpRequest, x_trainshed_project: str | None = Header(None, alias=PROJECT_HEADER)):
    """The key's account, the key's limits, and the project this request would work in."""
    project = active_project(request)
    return {"email": request.user.email, "name": request.user.name, "key": request.auth,
            "project": project}


# ---- the apps' routers -------------------------------------------------------------------------


def _mount_routers() -> None:
    for app in API_APPS:
        try:
            module = importlib.import_module(f"{app}.api")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.api":
                raise
            continue
        api.add_router("", module.router)
    # Compute nodes' agents, with their own credential (a node token, not an API key).
    from resources.api_node import router as node_router

    api.add_router("/node", node_router)


_mount_routers()


@csrf_exempt  # it changes nothing; else a POST to an unknown path got the HTML CSRF page
def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any other path under /api/v1/: JSON, like every API answer."""
    return JsonResponse({"detail": "Not found."}, status=404)


def csrf_failure(request: HttpRequest, reason: str = ""):
    """CSRF_FAILURE_VIEW: JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "CSRF check failed: API calls authenticate with an API key."},
                            status=403)
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason=reason)
