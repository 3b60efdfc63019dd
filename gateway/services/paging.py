"""Pages of a grid: the sizes the frontend offers, the checks, and the seed's range text.

The mapping grid and the logs table page the same way (the seed's pagination bar: "Items per
page" 10/20/50/100, default 20, and "1 – 20 of 236"), so both use this one definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from gateway.errors import BadUserInput

# The "Items per page" drop-down; anything else is refused so a script cannot ask for a
# million rows in one page.
PAGE_SIZES = (10, 20, 50, 100)
DEFAULT_PAGE_SIZE = 20

T = TypeVar("T")


def check_page(page: int, page_size: int) -> int:
    """Refuse a page the grid cannot show; returns the row offset of the page."""
    if page_size not in PAGE_SIZES:
        raise BadUserInput(
            f"pageSize must be one of {', '.join(map(str, PAGE_SIZES))}.", field="pageSize"
        )
    if page < 1:
        raise BadUserInput("page starts at 1.", field="page")
    return (page - 1) * page_size


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows with the totals of the whole filtered set.

    A page past the end is empty with the real totals ("0 of 236"), not an error: a stale
    page number after a filter change should not break the screen.
    """

    items: list[T]
    total: int
    page: int
    page_size: int

    @property
    def page_count(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def range_text(self) -> str:
        """The seed's pagination text, e.g. "1 – 20 of 236"."""
        if not self.items:
            return f"0 of {self.total}"
        first = (self.page - 1) * self.page_size + 1
        return f"{first} – {first + len(self.items) - 1} of {self.total}"
