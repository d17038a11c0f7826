"""Reading pages the way a user sees them: the navigation's links, the visible text."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any


class _NavParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.in_nav = False
        self.current_href: str | None = None
        self.current_marked = False
        self.links: list[tuple[str, str, bool]] = []
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "nav" and attributes.get("aria-label") == "Main":
            self.in_nav = True
        elif tag == "a" and self.in_nav:
            self.current_href = attributes.get("href") or ""
            self.current_marked = attributes.get("aria-current") == "page"
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav":
            self.in_nav = False
        elif tag == "a" and self.current_href is not None:
            label = "".join(self._text).strip()
            self.links.append((label, self.current_href, self.current_marked))
            self.current_href = None

    def handle_data(self, data: str) -> None:
        if self.current_href is not None:
            self._text.append(data)


def nav_links(response: Any) -> list[tuple[str, str, bool]]:
    """(label, href, is current) for each link of the main navigation."""
    parser = _NavParser()
    parser.feed(response.content.decode())
    return parser.links


def nav_labels(response: Any) -> list[str]:
    return [label for label, _, _ in nav_links(response)]


def current_section(response: Any) -> list[str]:
    return [label for label, _, current in nav_links(response) if current]
