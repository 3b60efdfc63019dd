"""Pages as the seed's pagination bar shows them: the offered sizes, "1 – 20 of 236", and a
page past the end that is empty, not an error."""

from __future__ import annotations

import pytest

from gateway.errors import BadUserInput
from gateway.services.paging import PAGE_SIZES, Page, check_page


@pytest.mark.parametrize(("page", "size", "offset"), [(1, 20, 0), (3, 10, 20), (2, 100, 100)])
def test_an_offered_page_starts_at_its_offset(page: int, size: int, offset: int) -> None:
    assert check_page(page, size) == offset


@pytest.mark.parametrize(
    ("page", "size", "field"), [(1, 25, "pageSize"), (1, 0, "pageSize"), (0, 20, "page")]
)
def test_a_page_the_grid_cannot_show_is_bad_input_naming_the_field(
    page: int, size: int, field: str
) -> None:
    with pytest.raises(BadUserInput) as refused:
        check_page(page, size)
    assert refused.value.data == {"field": field}
    if field == "pageSize":
        assert refused.value.message == "pageSize must be one of 10, 20, 50, 100."
    assert PAGE_SIZES == (10, 20, 50, 100)


@pytest.mark.parametrize(
    ("items", "total", "page", "size", "text", "count"),
    [
        (20, 236, 1, 20, "1 – 20 of 236", 12),
        (16, 236, 12, 20, "221 – 236 of 236", 12),
        (0, 236, 13, 20, "0 of 236", 12),  # past the end: the real totals, no error
        (0, 0, 1, 20, "0 of 0", 1),
        (1, 1, 1, 10, "1 – 1 of 1", 1),
    ],
)
def test_the_range_text_and_page_count(
    items: int, total: int, page: int, size: int, text: str, count: int
) -> None:
    result = Page(items=list(range(items)), total=total, page=page, page_size=size)
    assert (result.range_text, result.page_count) == (text, count)
