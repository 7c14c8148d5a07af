"""Compute: the Compute page shows each person only their own nodes (another person's node is a
404); a project's compute settings are the owner's alone (members 403, outsiders 404)."""

from tests.access.spec import ANY_SIGNED_IN, NOT_ALLOWED, OWNER_ADMIN, Route, builder, expect
from tests.factories import make_node

#: The owner's own node: everyone else gets 404, as for a missing id.
OWN_NODE = expect("ok", 404, 404, 404, 404)


@builder("node")
def _node(world):
    return make_node(owner=world.people["owner"], name="owners-node")


def _node_kw(world):
    return {"node_id": world.node.pk}


def _project_kw(world):
    return {"project_id": world.project.pk}


ROUTES = {
    "compute:node-list": Route(get=ANY_SIGNED_IN, post=NOT_ALLOWED),
    # POST with no data re-renders the form with errors (200): any signed-in person may add nodes.
    "compute:node-create": Route(get=ANY_SIGNED_IN, post=ANY_SIGNED_IN),
    "compute:node-edit": Route(kwargs=_node_kw, get=OWN_NODE, post=OWN_NODE),
    "compute:node-drain": Route(kwargs=_node_kw, post=OWN_NODE),
    "compute:node-resume": Route(kwargs=_node_kw, post=OWN_NODE),
    "compute:node-remove": Route(kwargs=_node_kw, get=OWN_NODE, post=OWN_NODE),
    "compute:node-token": Route(kwargs=_node_kw, get=NOT_ALLOWED, post=OWN_NODE),
    "compute:node-token-revoke": Route(kwargs=_node_kw, get=NOT_ALLOWED, post=OWN_NODE),
    "compute:project-settings": Route(kwargs=_project_kw, get=OWNER_ADMIN, post=NOT_ALLOWED),
    "compute:project-settings-update": Route(
        kwargs=_project_kw, post=OWNER_ADMIN, data=lambda w: {"owned_compute_only": "on"}
    ),
    "compute:project-gpu-refresh": Route(kwargs=_project_kw, post=OWNER_ADMIN),
}
