"""The JSON API: one NinjaAPI with a router per domain app.

Browsers use their session (with CSRF); machine clients send ``Authorization: Bearer <token>``.
Every failure answers ``application/problem+json`` (RFC 9457) naming the field at fault.
"""

from __future__ import annotations

import json
from typing import Any, cast

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.types import DictStrAny

from radflow.accounts.access import page_requires
from radflow.accounts.api_auth import requires
from radflow.core.errors import RadflowError


class UnstorableText(ValueError):
    """A JSON string no database column can hold: PostgreSQL refuses NUL in text and any
    unpaired UTF-16 surrogate (``"\\ud800"``), so such input is refused before it reaches a
    service rather than failing the write."""


def _check_text(value: object, where: str) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise UnstorableText(f"{where or 'body'}: text may not contain the NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise UnstorableText(
                f"{where or 'body'}: text has an unpaired surrogate (not valid Unicode)"
            ) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, where)
            _check_text(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_text(item, f"{where}[{index}]")


class StorableJsonParser(Parser):
    def parse_body(self, request: HttpRequest) -> DictStrAny:
        data = json.loads(request.body)
        _check_text(data, "")
        return cast(DictStrAny, data)


api = NinjaAPI(
    parser=StorableJsonParser(),
    title="RadFlow API",
    version="1",
    description="Department model, patients and catalog. Token auth: `Authorization: Bearer …`.",
    auth=requires(),
    urls_namespace="api",
    docs_decorator=page_requires(),
)


def problem(
    request: HttpRequest,
    *,
    status: int,
    title: str,
    detail: str,
    code: str,
    errors: list[dict[str, str]] | None = None,
) -> HttpResponse:
    body: dict[str, Any] = {
        "type": f"https://radflow.invalid/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    response = api.create_response(request, body, status=status)
    response["Content-Type"] = "application/problem+json"
    return response


@api.exception_handler(RadflowError)
def _radflow_error(request: HttpRequest, exc: RadflowError) -> HttpResponse:
    errors: list[dict[str, str]] = []
    field_errors = getattr(exc, "errors", None)
    if isinstance(field_errors, dict):
        errors = [
            {"field": field, "message": message}
            for field, messages in field_errors.items()
            for message in messages
        ]
    elif exc.field:
        errors = [{"field": exc.field, "message": exc.message}]
    return problem(
        request,
        status=exc.http_status,
        title=exc.message,
        detail=exc.message,
        code=exc.code,
        errors=errors,
    )


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = []
    for error in exc.errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "payload")]
        errors.append({"field": ".".join(location), "message": str(error.get("msg", "invalid"))})
    fields = ", ".join(e["field"] for e in errors if e["field"]) or "request"
    return problem(
        request,
        status=422,
        title="Invalid input",
        detail=f"Check these fields: {fields}",
        code="validation_failed",
        errors=errors,
    )


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem(
        request,
        status=401,
        title="Authentication required",
        detail="Send a valid bearer token or log in.",
        code="not_authenticated",
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, UnstorableText):  # ninja wraps what the parser raised
        return problem(
            request,
            status=400,
            title="Invalid input",
            detail=str(exc.__cause__),
            code="validation_failed",
        )
    return problem(
        request, status=exc.status_code, title=str(exc), detail=str(exc), code="http_error"
    )


def _register_routers() -> None:
    from radflow.audit.api import router as audit_router
    from radflow.billing.api import router as billing_router
    from radflow.catalog.api import router as catalog_router
    from radflow.contrast.api import router as contrast_router
    from radflow.credentials.api import router as credentials_router
    from radflow.exams.api import router as exams_router
    from radflow.infection.api import router as infection_router
    from radflow.orders.api import router as orders_router
    from radflow.patients.api import router as patients_router
    from radflow.rostering.api import router as rostering_router
    from radflow.scheduling.api import booking_router as scheduling_booking_router
    from radflow.scheduling.api import router as scheduling_router
    from radflow.staff.api import router as staff_router
    from radflow.supplies.api import router as supplies_router

    api.add_router("/department", scheduling_router)
    api.add_router("/scheduling", scheduling_booking_router)
    api.add_router("/catalog", catalog_router)
    api.add_router("/patients", patients_router)
    api.add_router("/staff", staff_router)
    api.add_router("/billing", billing_router)
    api.add_router("/audit", audit_router)
    api.add_router("/orders", orders_router)
    api.add_router("/exams", exams_router)
    api.add_router("/rosters", rostering_router)
    api.add_router("/credentials", credentials_router)
    api.add_router("/infection", infection_router)
    api.add_router("/contrast", contrast_router)
    api.add_router("/supplies", supplies_router)


_register_routers()
