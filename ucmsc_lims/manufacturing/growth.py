"""Derived growth numbers of a lot and its growth chart (SPEC 4.2): pure functions.

Population doublings of a passage are log2(harvested / seeded); cumulative doublings add them up
(a product batch runs on from its cell bank, as its passage numbers do); the doubling time is the
passage's culture time divided by its doublings. The chart is plain SVG drawn on the server, the
same approach as the follow-up charts, so it passes the CSP and prints as shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from math import log2
from xml.sax.saxutils import escape

from ..followup.km import (
    BOTTOM,
    HEIGHT,
    LEFT,
    RIGHT,
    TOP,
    WIDTH,
    _frame,
    _label,
    _scale,
    _svg,
    _ticks,
)


@dataclass(frozen=True)
class PassageCounts:
    number: int
    seeded_at: datetime
    harvested_at: datetime
    cells_seeded: float
    cells_harvested: float


@dataclass(frozen=True)
class GrowthRow:
    number: int
    seeded_at: datetime
    harvested_at: datetime
    doublings: float
    cumulative: float
    doubling_time_hours: float | None


def population_doublings(cells_seeded: float, cells_harvested: float) -> float:
    if cells_seeded <= 0 or cells_harvested <= 0:
        raise ValueError("cell counts must be positive")
    return log2(cells_harvested / cells_seeded)


def doubling_time_hours(hours: float, doublings: float) -> float | None:
    """Hours per doubling; None when the cells did not grow (no doubling time exists)."""
    return hours / doublings if doublings > 0 else None


def growth_rows(passages: Sequence[PassageCounts],
                start_cumulative: float = 0.0) -> list[GrowthRow]:
    rows = []
    cumulative = start_cumulative
    for p in sorted(passages, key=lambda p: p.number):
        pd = population_doublings(p.cells_seeded, p.cells_harvested)
        cumulative += pd
        hours = (p.harvested_at - p.seeded_at).total_seconds() / 3600
        rows.append(GrowthRow(p.number, p.seeded_at, p.harvested_at, pd, cumulative,
                              doubling_time_hours(hours, pd)))
    return rows


def chart_points(rows: Sequence[GrowthRow], start_cumulative: float = 0.0,
                 origin: datetime | None = None) -> list[tuple[float, float]]:
    """(days since the first seeding, cumulative doublings), starting at the first seeding."""
    if not rows:
        return []
    origin = origin or rows[0].seeded_at
    points = [((rows[0].seeded_at - origin).total_seconds() / 86400, start_cumulative)]
    points += [((r.harvested_at - origin).total_seconds() / 86400, r.cumulative) for r in rows]
    return points


def growth_svg(points: Sequence[tuple[float, float]], title: str) -> str:
    """Cumulative population doublings against days in culture."""
    if not points:
        message = '<text x="50%" y="50%" text-anchor="middle">No passages yet</text>'
        return _svg(title, _frame(title, [], []) + message)
    days = [d for d, _ in points]
    values = [v for _, v in points]
    x_ticks = _ticks(0.0, max(max(days), 1.0))
    y_ticks = _ticks(min(min(values), 0.0), max(max(values), 1.0))
    x = _scale(x_ticks[0], x_ticks[-1], LEFT, WIDTH - RIGHT)
    y = _scale(y_ticks[0], y_ticks[-1], HEIGHT - BOTTOM, TOP)
    frame = _frame(title, [(y(v), _label(v)) for v in y_ticks],
                   [(x(d), _label(d)) for d in x_ticks])
    axis = (f'<text x="{WIDTH / 2}" y="{HEIGHT - 6}" text-anchor="middle" font-size="11">'
            "days in culture</text>"
            f'<text x="14" y="{(TOP + HEIGHT - BOTTOM) / 2}" font-size="11" text-anchor="middle"'
            f' transform="rotate(-90 14 {(TOP + HEIGHT - BOTTOM) / 2})">cumulative PD</text>')
    coords = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in points)
    line = f'<polyline points="{coords}" fill="none" stroke="#1f4e79" stroke-width="2"/>'
    dots = "".join(
        f'<circle cx="{x(d):.1f}" cy="{y(v):.1f}" r="3" fill="#1f4e79">'
        f"<title>day {escape(_label(round(d, 2)))}: {escape(_label(round(v, 2)))} PD</title>"
        "</circle>" for d, v in points)
    return _svg(title, frame + axis + line + dots)
