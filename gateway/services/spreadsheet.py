"""Text cells of the CSV files sellers open in a spreadsheet (exports and the preview).

A leaf on its own: the sync package's preview writes CSV too, and the exports module reads
the organisations service, which reads the sync package (the grid rows' sync state).
"""

from __future__ import annotations

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: str | None) -> str:
    """A text cell that a spreadsheet shows as text, never runs as a formula."""
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value
