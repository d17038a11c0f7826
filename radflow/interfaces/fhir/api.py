"""``/fhir/R4/``: the FHIR R4 REST facade as its own NinjaAPI (its own OpenAPI at
``/fhir/R4/openapi.json``, docs at ``/fhir/R4/docs``).

Auth is the JSON API's: ``Authorization: Bearer <token>`` or the browser session, and the same
permission per operation as the pages. Every failure answers an OperationOutcome with the HTTP
status FHIR gives it: 400 unreadable input, 401 no credentials, 403 a role without the right, 404
an unknown id, 409 a slot just taken, 422 a business rule.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from radflow.accounts.access import page_requires
from radflow.accounts.api_auth import requires
from radflow.core.errors import RadflowError
from radflow.core.fhir.capability import capability_statement
from radflow.core.fhir.outcome import Issue, operation_outcome
from radflow.interfaces.fhir.http import RESPONSES, base_url, fhir_response

fhir_api = NinjaAPI(
    title="RadFlow FHIR R4",
    # Distinct from the JSON API's version: ninja refuses two APIs with one namespace/version.
    version="R4",
    description=(
        "FHIR R4 (4.0.1) REST facade: read and search, ServiceRequest create and update, IHE "
        "ITI Scheduling $find, $hold and $book. Bodies are application/fhir+json. "
        "Token auth: `Authorization: Bearer …`."
    ),
    auth=requires(),
    urls_namespace="fhir",
    docs_decorator=page_requires(),
)


def outcome_response(
    status: int, issues: list[Issue], headers: dict[str, str] | None = None
) -> HttpResponse:
    return fhir_response(operation_outcome(status, issues), status=status, headers=headers)


@fhir_api.exception_handler(RadflowError)
def _radflow_error(request: HttpRequest, exc: RadflowError) -> HttpResponse:
    issues: list[Issue] = []
    field_errors = getattr(exc, "errors", None)
    if isinstance(field_errors, dict) and field_errors:
        issues = [
            Issue(message, expression=field)
            for field, messages in field_errors.items()
            for message in messages
        ]
    else:
        issues = [Issue(exc.message, expression=exc.field)]
    options = getattr(exc, "options", None)
    if options:
        offered = "; ".join(
            f"{timezone.localtime(o.start):%Y-%m-%d %H:%M} in {o.room.name}" for o in options[:3]
        )
        issues.append(Issue(f"Free instead: {offered}.", severity="information"))
    return outcome_response(exc.http_status, issues)


@fhir_api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    issues = []
    for error in exc.errors:
        location = [
            str(part)
            for part in error.get("loc", ())
            if part not in ("body", "payload", "query", "path")
        ]
        issues.append(
            Issue(str(error.get("msg", "invalid")), expression=".".join(location) or None)
        )
    return outcome_response(400, issues)


@fhir_api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return outcome_response(
        401,
        [Issue("Send a valid bearer token or log in.")],
        headers={"WWW-Authenticate": 'Bearer realm="RadFlow FHIR"'},
    )


@fhir_api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return outcome_response(exc.status_code, [Issue(str(exc))])


@fhir_api.get(
    "/metadata",
    auth=None,
    response=RESPONSES,
    summary="CapabilityStatement",
    tags=["conformance"],
    url_name="metadata",
)
def metadata(request: HttpRequest) -> HttpResponse:
    """What this server supports; open to anyone, as FHIR clients read it before they log in."""
    statement = capability_statement(
        base_url=base_url(request),
        version=_software_version(),
        at=timezone.now(),
    )
    return fhir_response(statement)


#: Last of all: a path no route serves is a FHIR 404, not the HTML page.
fallback = Router()


@fallback.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE"],
    "/{path:rest}",
    auth=None,
    include_in_schema=False,
    url_name="unknown",
)
def unknown(request: HttpRequest, rest: str) -> HttpResponse:
    return outcome_response(
        404, [Issue(f"RadFlow serves no {request.method} {rest}; see /fhir/R4/metadata.")]
    )


def _software_version() -> str:
    try:
        return version("radflow")
    except PackageNotFoundError:
        return "unknown"


def _register_routers() -> None:
    # Scheduling first: ``Appointment/$find`` must resolve before ``Appointment/{id}``.
    from radflow.interfaces.fhir.routes_clinical import router as clinical_router
    from radflow.interfaces.fhir.routes_directory import router as directory_router
    from radflow.interfaces.fhir.routes_scheduling import router as scheduling_router

    fhir_api.add_router("", scheduling_router)
    fhir_api.add_router("", clinical_router)
    fhir_api.add_router("", directory_router)
    fhir_api.add_router("", fallback)


_register_routers()
