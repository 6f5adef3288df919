"""Reading JSON request bodies with errors that say what is wrong (422, or 400 for non-JSON)."""

from __future__ import annotations

from typing import Any

from chatapp.errors import error_response


class BadBody(ValueError):
    """A request body the API cannot take; `response()` is the answer to give."""

    def __init__(self, message: str, status: int = 422, field: str | None = None):
        super().__init__(message)
        self.message, self.status, self.field = message, status, field

    def response(self):
        """The JSON error answer."""
        return error_response(self.status, self.message,
                              details={"field": self.field} if self.field else None)


def json_body(request) -> dict[str, Any]:
    """The request's JSON object (400 when the body is not a JSON object)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadBody("Send a JSON object with Content-Type: application/json.", status=400)
    return body


def text_field(body: dict, name: str, *, required: bool = False, max_length: int = 200,
               strip: bool = True) -> str | None:
    """A string field (None when absent and not required)."""
    value = body.get(name)
    if value is None:
        if required:
            raise BadBody(f"{name} is required.", field=name)
        return None
    if not isinstance(value, str):
        raise BadBody(f"{name} must be a string.", field=name)
    value = value.strip() if strip else value
    if required and not value:
        raise BadBody(f"{name} must not be empty.", field=name)
    if len(value) > max_length:
        raise BadBody(f"{name} is limited to {max_length} characters.", field=name)
    return value
