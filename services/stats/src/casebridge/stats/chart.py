"""A grouped bar chart drawn on the server as SVG: readable without JavaScript, every bar
labelled with its value, colours with at least 4.5:1 contrast on white (WCAG 2.2 AA asks
3:1 for graphics), and a table beside it on the page."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 720, 340
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 24, 56


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    value: int
    series: str
    group: str


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class GroupLabel:
    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: float
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    groups: list[GroupLabel]
    legend: list[tuple[str, str]]


def nice_ceiling(value: int) -> int:
    """The top of the axis: 5, 10, 20, 50, 100 ... at or above `value`."""
    top = 5
    while top < value:
        magnitude = 10 ** math.floor(math.log10(top))
        top = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude > top)
    return top


def bar_chart(
    groups: Sequence[str],
    series: Sequence[tuple[str, str]],
    values: Sequence[Sequence[int]],
) -> Chart:
    """`values[g][s]`: the value of series `s` (name, colour) in group `g`."""
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    top = nice_ceiling(max([v for row in values for v in row] + [1]))
    group_width = plot_width / max(len(groups), 1)
    bar_width = group_width * 0.8 / max(len(series), 1)
    baseline = TOP + plot_height
    bars = []
    for g, group in enumerate(groups):
        start = LEFT + g * group_width + group_width * 0.1
        for s, (name, colour) in enumerate(series):
            value = values[g][s]
            height = plot_height * value / top
            bars.append(
                Bar(
                    x=round(start + s * bar_width, 1),
                    y=round(baseline - height, 1),
                    width=round(bar_width - 2, 1),
                    height=round(height, 1),
                    colour=colour,
                    value=value,
                    series=name,
                    group=group,
                )
            )
    ticks = [Tick(round(baseline - plot_height * i / 5, 1), f"{top * i // 5:,}") for i in range(6)]
    labels = [
        GroupLabel(round(LEFT + (g + 0.5) * group_width, 1), group)
        for g, group in enumerate(groups)
    ]
    return Chart(WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, baseline, bars, ticks, labels, list(series))
