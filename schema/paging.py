"""The totals every paged GraphQL type carries, taken from a service :class:`Page`."""

from __future__ import annotations

from typing import Any

from gateway.services.paging import Page


def page_totals(result: Page[Any]) -> dict[str, Any]:
    """``total``, ``page``, ``pageSize``, ``pageCount`` and ``range`` ("1 – 20 of 236")."""
    return {
        "total": result.total,
        "page": result.page,
        "page_size": result.page_size,
        "page_count": result.page_count,
        "range": result.range_text,
    }
