"""Checking real API responses against chatapp's OpenAPI document (chatapp/api/openapi.json)."""

from __future__ import annotations

import json
import re

import jsonschema_rs

from chatapp.api import OPENAPI_PATH

DOCUMENT = json.loads(OPENAPI_PATH.read_text())
PREFIX = "/api/v1"


def _operation(method: str, path: str) -> dict:
    for template, item in DOCUMENT["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path.removeprefix(PREFIX)) and method.lower() in item:
            return item[method.lower()]
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def check(response, method: str, path: str):
    """Assert that `response` (Flask test client or httpx) is one the document declares for the
    operation, its JSON body valid against the declared schema; return the response."""
    status = str(response.status_code)
    declared = _operation(method, path.split("?")[0])["responses"]
    assert status in declared, f"{method} {path} answered {status}, not declared: {sorted(declared)}"
    content = declared[status].get("content", {})
    content_type = response.headers.get("content-type", "").split(";")[0]
    if not content:
        assert not (response.data if hasattr(response, "data") else response.content), \
            f"{method} {path} {status} declares no body"
        return response
    assert content_type in content, f"{method} {path} {status} answered {content_type}"
    schema = content[content_type]["schema"]
    if content_type == "application/json":
        body = response.get_json() if hasattr(response, "get_json") else response.json()
        validator = jsonschema_rs.Draft202012Validator(
            {**schema, "components": DOCUMENT["components"]})
        errors = [error.message for error in validator.iter_errors(body)]
        assert not errors, f"{method} {path} {status}: {errors}"
    return response
