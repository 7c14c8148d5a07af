"""API matrix rows for billing: every account sees its own (nothing names another's); a key
limited to one project is refused, since billing is about the whole account."""

from tests.access.routes_api import ApiRoute, api_expect

API_ROUTES = {
    "GET /billing": ApiRoute(expected=api_expect(200, 200, 200, 200, 200, read_only=200,
                                                 other_project=403)),
}
