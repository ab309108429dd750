"""Small-number suppression for published breakdowns (LEG-R8): a count from 1 to
`below - 1` is shown as "<5" (primary suppression), and further cells are hidden so that no
row or column, with its total, has exactly one hidden cell that a subtraction would give
away (secondary suppression). A cell hidden for another's sake is shown as "[x]" (or "<5"
when that is true of it: a zero): it is never shown as smaller than it is. Zeros are
shown: they describe nobody. Totals named `fixed` (the statutory figures, published as they
are) are never hidden.

A table is its cells plus margins: `TOTAL` stands for the total of a row or a column."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

TOTAL = "__total__"
HIDDEN = "[x]"
Key = tuple[str, str]


@dataclass(frozen=True)
class Shown:
    value: int
    hidden: bool
    below: int

    @property
    def text(self) -> str:
        if not self.hidden:
            return f"{self.value:,}"
        return f"<{self.below}" if self.value < self.below else HIDDEN


@dataclass(frozen=True)
class Suppressed:
    """A table ready to publish: `cell(row, column)`, with TOTAL for margins."""

    rows: list[str]
    columns: list[str]
    shown: dict[Key, Shown]

    def cell(self, row: str, column: str) -> Shown:
        return self.shown[(row, column)]

    def hidden(self) -> set[Key]:
        return {key for key, shown in self.shown.items() if shown.hidden}


def _lines(rows: Sequence[str], columns: Sequence[str]) -> list[list[Key]]:
    """Every set of members one published total adds up: each row with its total, each
    column with its total, and the margins with the grand total."""
    lines = [[(r, c) for c in [*columns, TOTAL]] for r in rows]
    lines += [[(r, c) for r in [*rows, TOTAL]] for c in columns]
    lines.append([(TOTAL, c) for c in [*columns, TOTAL]])
    lines.append([(r, TOTAL) for r in [*rows, TOTAL]])
    return lines


def with_margins(
    cells: Mapping[Key, int], rows: Sequence[str], columns: Sequence[str]
) -> dict[Key, int]:
    values = {(r, c): cells.get((r, c), 0) for r in rows for c in columns}
    for r in rows:
        values[(r, TOTAL)] = sum(values[(r, c)] for c in columns)
    for c in columns:
        values[(TOTAL, c)] = sum(values[(r, c)] for r in rows)
    values[(TOTAL, TOTAL)] = sum(values[(r, TOTAL)] for r in rows)
    return values


def _complement(
    line: list[Key],
    values: Mapping[Key, int],
    hidden: set[Key],
    fixed: set[Key],
    lines_of: Mapping[Key, list[list[Key]]],
) -> Key | None:
    """The member to hide beside the lone hidden one: a non-zero one (a hidden zero protects
    little), the one whose hiding leaves fewest other lines with a lone hidden member, then
    an inner cell before a total, then the smallest; None if every other member is fixed."""
    candidates = [k for k in line if k not in hidden and k not in fixed]
    if not candidates:
        return None

    def cost(key: Key) -> tuple[bool, int, bool, int, int]:
        value = values[key]
        lone = sum(1 for other in lines_of[key] if not any(k in hidden for k in other))
        return (value == 0, lone, TOTAL in key, value, line.index(key))

    return min(candidates, key=cost)


def suppress(
    cells: Mapping[Key, int],
    rows: Sequence[str],
    columns: Sequence[str],
    *,
    below: int = 5,
    fixed: set[Key] | None = None,
) -> Suppressed:
    """Primary, then secondary suppression until no published total gives a hidden cell
    away by one subtraction."""
    values = with_margins(cells, rows, columns)
    fixed = set(fixed or ())
    hidden = {k for k, v in values.items() if 0 < v < below and k not in fixed}
    lines = _lines(rows, columns)
    lines_of: dict[Key, list[list[Key]]] = {}
    for line in lines:
        for key in line:
            lines_of.setdefault(key, []).append(line)
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(1 for k in line if k in hidden) != 1:
                continue
            extra = _complement(line, values, hidden, fixed, lines_of)
            if extra is not None:
                hidden.add(extra)
                changed = True
    return Suppressed(
        list(rows),
        list(columns),
        {k: Shown(v, k in hidden, below) for k, v in values.items()},
    )
