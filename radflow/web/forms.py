"""The one shape every page form takes: valid form → one service call → a refusal on the form.

Pages differ in what they render and where they go next, not in how a submitted form reaches its
service, so that part lives here once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django import forms

from radflow.core.errors import ValidationFailed

T = TypeVar("T")


def _put_on_fields(form: Any, exc: ValidationFailed, aliases: dict[str, str]) -> None:
    for name, field_messages in exc.errors.items():
        target = aliases.get(name, name)
        for message in field_messages:
            form.add_error(target if target in form.fields else None, message)


def service_errors_to_form(form: forms.BaseForm, exc: ValidationFailed) -> None:
    """A service's refusal on the fields it names (the form as a whole for the others), through
    the form's own ``add_service_errors`` when it has one."""
    custom = getattr(form, "add_service_errors", None)
    if custom is not None:
        custom(exc)
    else:
        _put_on_fields(form, exc, {})


class ServiceErrorsMixin:
    """Gives a form ``add_service_errors``: a service's ``ValidationFailed`` on its fields."""

    #: Service field names that a form shows under another name.
    field_aliases: dict[str, str] = {}

    def add_service_errors(self, exc: ValidationFailed) -> None:
        _put_on_fields(self, exc, self.field_aliases)


@dataclass(frozen=True)
class Done(Generic[T]):
    """The service ran; ``value`` is what it returned (which may itself be None or empty)."""

    value: T


def submit(form: forms.BaseForm, action: Callable[[dict[str, Any]], T]) -> Done[T] | None:
    """``Done(action(cleaned_data))`` when the form is valid and the service accepts it, else
    None: a ``ValidationFailed`` from the service lands on the form, so the page shows it again
    with the message where the user looks. An unbound form is never submitted."""
    if not form.is_bound or not form.is_valid():
        return None
    try:
        return Done(action(form.cleaned_data))
    except ValidationFailed as exc:
        service_errors_to_form(form, exc)
        return None


def status_of(form: forms.BaseForm | None) -> int:
    """422 for a refused form, so a test (or a client) sees the refusal without reading HTML."""
    return 422 if form is not None and form.is_bound and form.errors else 200
