"""API matrix rows for a project's GPU types."""

from tests.access.routes_api import API_OWNER_ADMIN, API_PROJECT_VISIBLE, ApiRoute

API_ROUTES = {
    "GET /projects/{project_id}/gpu-types": ApiRoute(expected=API_PROJECT_VISIBLE),
    "POST /projects/{project_id}/gpu-types/refresh": ApiRoute(expected=API_OWNER_ADMIN),
}
