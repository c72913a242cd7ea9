"""What every /api/v1 operation shares: the error body, the error answers it documents, bounded ids.

Request and response bodies are msgspec Structs so `/schema/openapi.json` describes each of them.
The Structs check JSON types only; the rules (required values, choices, visibility) stay in the
services, which name every failing field at once.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec
from litestar.openapi.datastructures import ResponseSpec

T = TypeVar("T", bound=msgspec.Struct)

# Ids and versions are INTEGER columns: 32 bits on PostgreSQL (SERIAL), where asyncpg refuses a larger
# value outright. A body naming one is refused by name (422) instead of failing in the driver.
DB_INT_MAX = 2**31 - 1
DbInt = Annotated[int, msgspec.Meta(ge=-(2**31), le=DB_INT_MAX)]


class FieldErrorBody(msgspec.Struct):
    field: str
    message: str


class ErrorBody(msgspec.Struct):
    """Every API error: `detail` says what went wrong, `errors` names each field (may be empty). Messages
    follow `Accept-Language`. Some answers add keys (a lead's 409 adds `duplicates`)."""

    detail: str
    errors: list[FieldErrorBody]


_DESCRIPTIONS = {
    400: "Malformed request: not JSON, a required field missing, a query parameter of the wrong type",
    401: "No valid bearer token (or, for POST /api/v1/auth/token, wrong credentials)",
    403: "The caller may not do this",
    404: "Missing, or not visible to the caller",
    409: "Conflict: a stale version, or a duplicate",
    422: "Invalid input; `errors` names each field",
    429: "Too many failed logins: wait and try again",
}
_EVERY_OPERATION = (400, 401, 403, 404, 409, 422)


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """`responses=` for a route handler: the error body for the given statuses (all of them by default)."""
    return {
        s: ResponseSpec(ErrorBody, description=_DESCRIPTIONS.get(s, "Error"), generate_examples=False)
        for s in statuses or _EVERY_OPERATION
    }


ERRORS = error_responses()


def to(struct: type[T], values: dict[str, Any]) -> T:
    """A service's dict as the API's Struct; keys the Struct does not declare are left out."""
    return msgspec.convert(values, struct, strict=False)


def set_fields(data: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH body actually sent (absent ones stay UNSET and are left out; null stays None)."""
    return {f: v for f in data.__struct_fields__ if (v := getattr(data, f)) is not msgspec.UNSET}
