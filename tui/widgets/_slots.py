"""Update a DataTable in place, row slot by row slot, redrawing only cells that changed.

Clearing and refilling a table every refresh makes Textual re-measure and re-lay-out the
screen each time; under a busy collector that was most of ``agenttrace top``'s CPU. Rows
here are keyed by position ("0", "1", ...): a refresh rewrites the cells whose text or
style changed, and adds or removes rows only at the end. Cells are described by plain
tuples, and a rich ``Text`` is only built for a cell that changed.
"""

from __future__ import annotations

from typing import Literal

from rich.text import Text
from textual.widgets import DataTable

Justify = Literal["left", "right"]
Cell = tuple[str, str, Justify]  # text, style, justify


def cell(text: str, style: str = "", justify: Justify = "left") -> Cell:
    return (text, style, justify)


def _text(c: Cell) -> Text:
    return Text(c[0], style=c[1], justify=c[2], overflow="ellipsis", no_wrap=True)


def sync_rows(table: DataTable, rows: list[list[Cell]], shown: list[list[Cell]]) -> list[list[Cell]]:
    """Make ``table`` show ``rows``; ``shown`` is what the previous call returned. Returns ``rows``."""
    columns = list(table.columns)
    present = table.row_count
    for i, row in enumerate(rows):
        if i >= present:
            table.add_row(*(_text(c) for c in row), key=str(i))
            continue
        old = shown[i] if i < len(shown) else ()
        if row == old:
            continue
        for j, c in enumerate(row):
            if j >= len(old) or old[j] != c:
                table.update_cell(str(i), columns[j], _text(c))
    for i in range(present - 1, len(rows) - 1, -1):
        table.remove_row(str(i))
    return rows
