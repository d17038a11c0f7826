"""The FHIR boundary's own failure: a request the server cannot read (HTTP 400)."""

from __future__ import annotations

from radflow.core.errors import RadflowError


class InvalidRequest(RadflowError):
    """Malformed search parameter, body or reference: FHIR answers 400, not 422 (which is kept
    for a well-formed request that breaks a business rule). ``errors`` maps each element at
    fault to its messages, as ``ValidationFailed`` does."""

    code = "invalid_request"
    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.errors = errors if errors is not None else ({field: [message]} if field else {})
