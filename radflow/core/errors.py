"""One error hierarchy for RadFlow.

Each error carries a stable ``code`` so every boundary (HTTP problem JSON, HL7 ACK, DICOM status)
can translate it once, and clients can rely on it across releases.
"""

from __future__ import annotations


class RadflowError(Exception):
    """Base of every expected failure; anything else reaching a boundary is a bug."""

    code = "radflow_error"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class ValidationFailed(RadflowError):
    """Input is well-formed but breaks a rule; ``errors`` maps field names to messages."""

    code = "validation_failed"
    http_status = 422

    def __init__(self, errors: dict[str, list[str]], message: str = "Invalid input") -> None:
        field = next(iter(errors), None)
        super().__init__(message, field=field)
        self.errors = errors


class NotFound(RadflowError):
    code = "not_found"
    http_status = 404


class PermissionDenied(RadflowError):
    code = "permission_denied"
    http_status = 403


class Conflict(RadflowError):
    code = "conflict"
    http_status = 409
