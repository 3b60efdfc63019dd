"""Text cells a spreadsheet shows as text: what exports and the preview's CSV write."""

from __future__ import annotations

import pytest

from gateway.services.spreadsheet import spreadsheet_text


@pytest.mark.parametrize("value", ["=1+1", "+SUM(A1)", "-2", "@cmd", "\tx", "\rx"])
def test_a_cell_a_spreadsheet_would_run_is_quoted(value: str) -> None:
    assert spreadsheet_text(value) == "'" + value


@pytest.mark.parametrize(("value", "cell"), [("Contoso", "Contoso"), ("", ""), (None, "")])
def test_other_cells_stay_as_they_are(value: str | None, cell: str) -> None:
    assert spreadsheet_text(value) == cell
