"""Update a DataTable in place, row slot by row slot, redrawing only cells that changed.

Clearing and refilling a table every refresh makes Textual re-measure and re-lay-out the
screen each time; under a busy collector that was most of ``agenttrace top``'s CPU. Rows
here are keyed by position ("0", "1", ...): a refresh rewrites the cells whose text or
style changed, and adds or removes rows only at the end.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

CellKey = tuple[str, str, str | None]


def cell_key(cell: Text) -> CellKey:
    return (cell.plain, str(cell.style), cell.justify)


def sync_rows(table: DataTable, rows: list[list[Text]], shown: list[list[CellKey]]) -> list[list[CellKey]]:
    """Make ``table`` show ``rows``; ``shown`` is what the previous call returned. Returns the new state."""
    keys = [[cell_key(c) for c in row] for row in rows]
    columns = list(table.columns)
    present = table.row_count
    for i, (row, key) in enumerate(zip(rows, keys, strict=True)):
        if i < present:
            old = shown[i] if i < len(shown) else []
            for j, cell in enumerate(row):
                if j >= len(old) or old[j] != key[j]:
                    table.update_cell(str(i), columns[j], cell)
        else:
            table.add_row(*row, key=str(i))
    for i in range(present - 1, len(rows) - 1, -1):
        table.remove_row(str(i))
    return keys
