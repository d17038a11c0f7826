"""Shared model bases: UUID keys (exposed in URLs and APIs) and creation/update stamps."""

from __future__ import annotations

import uuid
from typing import TypeVar

from django.db import models

from radflow.core.errors import NotFound


class UUIDModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


M = TypeVar("M", bound=models.Model)


def get_or_not_found(queryset: models.QuerySet[M], *, pk: object, label: str) -> M:
    """One object by primary key, or the ``NotFound`` every boundary turns into its 404."""
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise NotFound(f"No {label} with id {pk}.", field="id")
    return obj
