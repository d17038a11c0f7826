"""Search paging: which slice a page is and the Bundle links around it.

Pages are numbered (``_page``, from 1) with ``_count`` entries each; a link repeats every other
parameter of the request as it came, so following ``next`` runs the same search.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

PAGING_PARAMS = ("_page", "_count")


@dataclass(frozen=True)
class Page:
    number: int
    size: int
    total: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def last(self) -> int:
        if self.size == 0:
            return 1
        return max(1, -(-self.total // self.size))

    @property
    def has_next(self) -> bool:
        return self.size > 0 and self.number < self.last

    @property
    def has_previous(self) -> bool:
        return self.size > 0 and self.number > 1


def page_links(base_url: str, params: Iterable[tuple[str, str]], page: Page) -> dict[str, str]:
    """``self``, ``first``, ``last`` and, where they exist, ``next`` and ``previous``."""
    kept = [(name, value) for name, value in params if name not in PAGING_PARAMS]

    def url(number: int) -> str:
        query = urlencode([*kept, ("_count", str(page.size)), ("_page", str(number))])
        return f"{base_url}?{query}"

    links = {"self": url(page.number), "first": url(1), "last": url(page.last)}
    if page.has_next:
        links["next"] = url(page.number + 1)
    if page.has_previous:
        links["previous"] = url(min(page.number - 1, page.last))
    return links
