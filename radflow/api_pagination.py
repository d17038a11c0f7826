"""Limit/offset paging for the JSON API, bounded.

ninja's ``LimitOffsetPagination`` takes any integer: an offset or limit past what a database
integer holds (``?offset=468289299382728868690395136``, found by the schemathesis run) reached
SQLite/PostgreSQL and answered 500. Bounded here, such a request is a 422 naming the field.
"""

from __future__ import annotations

from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination as NinjaLimitOffsetPagination

#: Further than any list RadFlow holds, and within every database's integer.
MAX_OFFSET = 2**31 - 1
MAX_LIMIT = 1000


class LimitOffsetPagination(NinjaLimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(100, ge=1, le=MAX_LIMIT)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)
