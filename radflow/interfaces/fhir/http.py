"""What every FHIR handler shares: the response type, Bundles and paging, body parsing and the
access log.

Kept apart from ``api.py`` so the route modules import it without importing each other.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.resource import Resource
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource, PatientKey, access_record
from radflow.core.fhir.errors import InvalidRequest
from radflow.core.fhir.paging import Page, page_links
from radflow.core.fhir.search import page_number, page_size

FHIR_JSON = "application/fhir+json"
ROOT = "/fhir/R4"

R = TypeVar("R", bound=Resource)
T = TypeVar("T")


class FhirResource(BaseModel):
    """What the OpenAPI description can say of a FHIR body: a JSON object with a
    ``resourceType`` (fhir.resources validates the rest)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    resource_type: str = Field(alias="resourceType")


#: The answers every FHIR operation may give, for the OpenAPI description.
RESPONSES: dict[int, Any] = {
    200: FhirResource,
    400: FhirResource,
    401: FhirResource,
    403: FhirResource,
    404: FhirResource,
}


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(ROOT)


def fhir_response(
    resource: Resource, *, status: int = 200, headers: dict[str, str] | None = None
) -> HttpResponse:
    response = HttpResponse(
        resource.model_dump_json(exclude_none=True), status=status, content_type=FHIR_JSON
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def parse_body(model: type[R], data: dict[str, Any]) -> R:
    """The body as ``model``; every element that does not validate is one 400 issue."""
    kind = model.get_resource_type()
    if data.get("resourceType") != kind:
        raise InvalidRequest(
            f"The body must be a {kind} resource, not {data.get('resourceType')!r}.",
            field="resourceType",
        )
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ())) or kind
            errors.setdefault(f"{kind}.{where}", []).append(str(error.get("msg", "invalid")))
        raise InvalidRequest(f"The {kind} is not valid FHIR R4.", errors=errors) from None
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"The {kind} is not valid FHIR R4: {exc}", field=kind) from None


def audit(request: HttpRequest, patients: Iterable[PatientKey], action: str) -> None:
    """Every answer that shows a patient's record (or names the patient in another resource)
    is a read of that patient, logged on the ``fhir`` channel."""
    access_record(
        user=request.user,
        patients=patients,
        action=action,
        source=AccessSource.from_request(request, AccessChannel.FHIR),
    )


def paging(count: int | None, page: int | None) -> tuple[int, int]:
    return page_size(count), page_number(page)


def page_of(
    rows: QuerySet[Any] | Sequence[T], *, count: int | None, page: int | None
) -> tuple[Page, list[Any]]:
    """One page of ``rows`` (a queryset is counted and sliced in the database)."""
    size, number = paging(count, page)
    total = rows.count() if isinstance(rows, QuerySet) else len(rows)
    shown = Page(number=number, size=size, total=total)
    if size == 0:
        return shown, []
    return shown, list(rows[shown.offset : shown.offset + size])


def searchset(request: HttpRequest, page: Page, resources: Sequence[Resource]) -> HttpResponse:
    """A ``searchset`` Bundle: total, paging links, one ``match`` entry per resource."""
    base = base_url(request)
    params = [(name, value) for name in request.GET for value in request.GET.getlist(name)]
    links = page_links(request.build_absolute_uri(request.path), params, page)
    bundle = Bundle.model_validate(
        {
            "id": str(uuid.uuid4()),
            "type": "searchset",
            "total": page.total,
            "link": [{"relation": relation, "url": url} for relation, url in links.items()],
            "entry": [entry(base, resource) for resource in resources] or None,
        }
    )
    return fhir_response(bundle)


def entry(base: str, resource: Resource, mode: str = "match") -> dict[str, Any]:
    kind = resource.get_resource_type()
    full_url = f"{base}/{kind}/{resource.id}" if resource.id else f"urn:uuid:{uuid.uuid4()}"
    return {"fullUrl": full_url, "resource": resource, "search": {"mode": mode}}


def non_blank(values: list[str] | None) -> list[str]:
    """A repeatable query parameter's non-blank values."""
    return [value for value in values or [] if value.strip()]
