"""The JSON API fuzzed from its OpenAPI document (schemathesis) against gunicorn: whatever the
input, no 500, and every answer is one the document declares, with a body matching it. Bounded:
a fixed number of examples per operation, derandomized so every run tries the same inputs."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api_contract import DOCUMENT
from tests.conftest import PASSWORD

schema = schemathesis.openapi.from_dict(DOCUMENT)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture
def bearer(live_server, make_user) -> dict:
    """An access token of a consultant, and a session of theirs for the examples to aim at."""
    make_user("cara@example.com", "Cara Consultant")
    pair = httpx.post(f"{live_server}/api/v1/auth/tokens",
                      json={"email": "cara@example.com", "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {pair['access_token']}"}


@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_the_api_answers_every_input_as_documented(case, live_server, bearer):
    if case.path.endswith("/events") and case.query and "wait" not in case.query:
        case.query = {**case.query, "wait": 0}  # a stream would never end: a poll answers
    if case.path.endswith("/events") and not case.query:
        case.query = {"wait": 0}
    case.call_and_validate(base_url=f"{live_server}/api/v1", headers=bearer, checks=CHECKS,
                           timeout=30)
