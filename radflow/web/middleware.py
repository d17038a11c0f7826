"""Page-side translation of RadFlow's errors, done once here rather than in every view."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from radflow.core.errors import NotFound
from radflow.web.views import page_not_found


class NotFoundPageMiddleware:
    """A selector's ``NotFound`` becomes the ordinary 404 page (the API has its own handler)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, NotFound):
            return page_not_found(request, exception)
        return None
