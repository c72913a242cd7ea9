"""Domain errors carry a field name and a translatable message; handlers render them as 4xx."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.i18n import N_


@dataclass
class FieldError:
    field: str
    message: str  # an untranslated msgid; translated when rendered

    def as_dict(self, translate) -> dict[str, str]:
        return {"field": self.field, "message": translate(self.message)}


class DomainError(Exception):
    status_code = 400

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []

    def body_extra(self, translate) -> dict:
        """More keys for the API error body (e.g. a lead's `duplicates` with a 409)."""
        return {}


class ValidationFailed(DomainError):
    status_code = 422

    def __init__(self, errors: list[FieldError], detail: str = N_("Please correct the highlighted fields.")) -> None:
        super().__init__(detail, errors)

    @classmethod
    def one(cls, field: str, message: str) -> ValidationFailed:
        return cls([FieldError(field, message)])

    def by_field(self) -> dict[str, str]:
        return {e.field: e.message for e in self.errors}


class NotFound(DomainError):
    status_code = 404

    def __init__(self, detail: str = N_("Not found.")) -> None:
        super().__init__(detail)


class Unauthenticated(DomainError):
    status_code = 401


class Forbidden(DomainError):
    status_code = 403

    def __init__(self, detail: str = N_("You do not have permission to do this.")) -> None:
        super().__init__(detail)


class Conflict(DomainError):
    status_code = 409


class Throttled(DomainError):
    status_code = 429
