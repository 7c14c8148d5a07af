from tests.access.spec import ANY_SIGNED_IN, Route

ROUTES = {
    "accounts:settings": Route(get=ANY_SIGNED_IN),
    "accounts:whoami": Route(get=ANY_SIGNED_IN),
}
