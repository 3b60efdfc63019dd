"""Every paged GraphQL type carries the same totals, taken from the service's page."""

from __future__ import annotations

from gateway.services.paging import Page
from schema.paging import page_totals


def test_a_pages_totals_are_what_the_pagination_bar_shows() -> None:
    page = Page(items=["a", "b"], total=22, page=2, page_size=20)
    assert page_totals(page) == {
        "total": 22,
        "page": 2,
        "page_size": 20,
        "page_count": 2,
        "range": "21 – 22 of 22",
    }
