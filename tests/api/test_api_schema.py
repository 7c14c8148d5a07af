"""Schemathesis against /api/v1/openapi.json: generated requests with a real key, a few
examples per operation, no server error and every answer as the schema documents it."""

import sys
import types

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.api_keys import api_key_create
from config.wsgi import application
from tests.factories import ProjectFactory, UserFactory, add_member

# `POST /datasets/tar` takes a raw tar body: generated bodies are sent as bytes, as for octet-stream.
schemathesis.serializer.alias("application/x-tar", "application/octet-stream")
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests go through the real WSGI handler, whose request signals would close the test's
    database connection mid-transaction (Django's test client disconnects them the same way)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def _keys_module(monkeypatch):
    """`copy_personal_keys=true` needs projects.keys, which the third-party-keys work provides.
    Until that is merged here, stand in a no-op so generated requests exercise the rest."""
    try:
        import projects.keys  # noqa: F401
    except ModuleNotFoundError:
        stub = types.ModuleType("projects.keys")
        stub.keys_copy_from_personal = lambda *, project, actor: None
        monkeypatch.setitem(sys.modules, "projects.keys", stub)


@pytest.fixture
def api_key(db, _keys_module):
    owner = UserFactory(email="fuzz@example.com")
    project = ProjectFactory(owner=owner, name="Fuzzed")
    add_member(project, UserFactory(email="member@example.com"))
    return api_key_create(user=owner, name="schemathesis")[1]


@schema.parametrize()
@settings(max_examples=5, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, api_key):
    case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"}, checks=CHECKS)
