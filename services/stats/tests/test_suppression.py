"""Small numbers in breakdowns: primary and secondary suppression (LEG-R8)."""

from __future__ import annotations

import random

from casebridge.stats.suppression import TOTAL, Suppressed, suppress, with_margins

ROWS, COLUMNS = ["a", "b", "c"], ["x", "y", "z"]


def lone_hidden_lines(table: Suppressed) -> list[list[tuple[str, str]]]:
    """Rows/columns (with their totals) where exactly one member is hidden: one subtraction
    would reveal it."""
    rows, columns = table.rows, table.columns
    lines = [[(r, c) for c in [*columns, TOTAL]] for r in rows]
    lines += [[(r, c) for r in [*rows, TOTAL]] for c in columns]
    lines += [[(TOTAL, c) for c in [*columns, TOTAL]], [(r, TOTAL) for r in [*rows, TOTAL]]]
    hidden = table.hidden()
    return [line for line in lines if sum(k in hidden for k in line) == 1]


def test_small_counts_are_shown_as_less_than_five_and_zeros_as_zero() -> None:
    table = suppress({("a", "x"): 3, ("a", "y"): 0, ("a", "z"): 40}, ["a"], COLUMNS)
    assert table.cell("a", "x").text == "<5"
    assert table.cell("a", "y").text == "0"
    assert table.cell("a", "x").hidden


def test_a_lone_small_cell_takes_a_complement_in_its_row_and_column() -> None:
    cells = {("a", "x"): 2, ("a", "y"): 10, ("a", "z"): 20, ("b", "x"): 30, ("b", "y"): 40,
             ("b", "z"): 50, ("c", "x"): 60, ("c", "y"): 70, ("c", "z"): 80}  # fmt: skip
    table = suppress(cells, ROWS, COLUMNS)
    hidden = table.hidden()
    assert ("a", "x") in hidden
    assert ("a", "y") in hidden  # the smallest other cell of row a
    assert ("b", "x") in hidden  # the smallest other cell of column x
    assert not lone_hidden_lines(table)
    # and no hidden cell can be worked out by subtracting along one row or column
    values = with_margins(cells, ROWS, COLUMNS)
    assert sum(values[(r, "x")] for r in ROWS) == values[(TOTAL, "x")]


def test_statutory_totals_stay_published_and_the_other_cell_is_hidden() -> None:
    """Applications by route: the yearly total is statutory, so the second route hides."""
    table = suppress(
        {("2025-26", "applicant"): 12, ("2025-26", "automatic"): 2},
        ["2025-26"],
        ["applicant", "automatic"],
        fixed={("2025-26", TOTAL), (TOTAL, TOTAL)},
    )
    assert table.cell("2025-26", TOTAL).text == "14"
    assert table.cell("2025-26", "automatic").text == "<5"
    assert table.cell("2025-26", "applicant").text == "[x]"  # else 14 - 12 gives it away


def test_random_tables_never_leave_a_hidden_cell_alone_in_a_line() -> None:
    generator = random.Random(2026)
    for _ in range(500):
        rows = [f"r{i}" for i in range(generator.randint(1, 5))]
        columns = [f"c{i}" for i in range(generator.randint(1, 5))]
        cells = {
            (r, c): generator.choice([0, 0, 1, 2, 3, 4, 5, 6, 9, 20, 100])
            for r in rows
            for c in columns
        }
        table = suppress(cells, rows, columns, below=5)
        values = with_margins(cells, rows, columns)
        for key, value in values.items():
            if 0 < value < 5:
                assert table.shown[key].hidden, key  # every small number is hidden
            if value == 0 and not table.shown[key].hidden:
                assert table.shown[key].text == "0"
        assert not lone_hidden_lines(table), (cells, table.hidden())


def test_the_threshold_is_configurable() -> None:
    table = suppress({("a", "x"): 7, ("a", "y"): 30}, ["a"], ["x", "y"], below=10)
    assert table.cell("a", "x").text == "<10"


def test_a_complement_is_never_shown_as_smaller_than_it_is() -> None:
    table = suppress({("a", "x"): 2, ("a", "y"): 30}, ["a"], ["x", "y"])
    assert table.cell("a", "x").text == "<5"
    assert table.cell("a", "y").hidden
    assert table.cell("a", "y").text == "[x]"


def test_the_complement_chosen_hides_least() -> None:
    """One small column total: hiding the grand total protects it without hiding the big
    cells of another column."""
    cells = {("noise", "personal"): 30, ("fireworks", "nuisance"): 2}
    table = suppress(cells, ["noise", "fireworks"], ["personal", "nuisance"])
    assert table.cell("noise", "personal").text == "30"
    assert table.cell(TOTAL, TOTAL).hidden
    assert not lone_hidden_lines(table)
