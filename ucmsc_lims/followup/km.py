"""Kaplan-Meier survival estimate and small server-side SVG charts for follow-up (SPEC 1, 4.10).

Long-term survival is the trial's primary interest (SPEC 1); the charts are drawn on the server
as plain SVG (no script, no style attribute) so they pass the CSP and print as they show.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from math import ceil, floor, log10
from xml.sax.saxutils import escape, quoteattr

WIDTH, HEIGHT = 480, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 32, 40


@dataclass(frozen=True)
class SurvivalPoint:
    """The estimate just after `time_days`, with who was at risk just before it."""

    time_days: float
    at_risk: int
    events: int
    censored: int
    survival: float


def kaplan_meier(observations: Iterable[tuple[float, bool]]) -> list[SurvivalPoint]:
    """Product-limit estimate: S(t) = prod over event times t_i <= t of (1 - d_i / n_i).

    One point per distinct time, events or censorings; at a tie, censored subjects count as at
    risk at that time (the usual convention: death is taken to come first).
    """
    rows = sorted(observations)
    if any(time < 0 for time, _ in rows):
        raise ValueError("Survival times cannot be negative.")
    at_risk = len(rows)
    survival = 1.0
    points: list[SurvivalPoint] = []
    i = 0
    while i < len(rows):
        time = rows[i][0]
        events = censored = 0
        while i < len(rows) and rows[i][0] == time:
            events += rows[i][1]
            censored += not rows[i][1]
            i += 1
        survival *= 1 - events / at_risk
        points.append(SurvivalPoint(time, at_risk, events, censored, survival))
        at_risk -= events + censored
    return points


def median_survival(points: Sequence[SurvivalPoint]) -> float | None:
    """The first time the estimate reaches 0.5 or below; None while it has not."""
    return next((p.time_days for p in points if p.survival <= 0.5), None)


def _nice_step(span: float, ticks: int = 5) -> float:
    raw = span / ticks
    magnitude = 10 ** floor(log10(raw))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


def _ticks(low: float, high: float) -> list[float]:
    """Round-numbered ticks from at or below `low` to at or above `high`."""
    step = _nice_step(high - low)
    first, last = floor(low / step), ceil(high / step)
    return [round(k * step, 10) for k in range(first, last + 1)]


def _label(number: float) -> str:
    return f"{number:.6g}"


def _frame(title: str, y_ticks: list[tuple[float, str]], x_ticks: list[tuple[float, str]]) -> str:
    plot_bottom = HEIGHT - BOTTOM
    parts = [
        f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{plot_bottom}" stroke="#333"/>',
        f'<line x1="{LEFT}" y1="{plot_bottom}" x2="{WIDTH - RIGHT}" y2="{plot_bottom}"'
        ' stroke="#333"/>',
    ]
    for y, text in y_ticks:
        parts.append(
            f'<line x1="{LEFT - 4}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
            f"{escape(text)}</text>"
        )
    for x, text in x_ticks:
        parts.append(
            f'<text x="{x:.1f}" y="{plot_bottom + 16}" text-anchor="middle" font-size="11">'
            f"{escape(text)}</text>"
        )
    return "".join(parts)


def _svg(title: str, body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}"'
        f' viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label={quoteattr(title)}>'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def _scale(low: float, high: float, start: float, end: float) -> Callable[[float], float]:
    """Map data values onto page coordinates; a zero span (one value) maps to the start."""
    span = (high - low) or 1.0
    return lambda v: start + (v - low) / span * (end - start)


def survival_svg(points: Sequence[SurvivalPoint], title: str) -> str:
    """The Kaplan-Meier step curve from (0, 1), with a tick mark at each censoring."""
    last = max((p.time_days for p in points), default=0.0) or 1.0
    x = _scale(0.0, last, LEFT, WIDTH - RIGHT)
    y = _scale(0.0, 1.0, HEIGHT - BOTTOM, TOP)
    path = [f"M{x(0):.1f},{y(1):.1f}"]
    ticks = []
    for p in points:
        path.append(f"H{x(p.time_days):.1f}V{y(p.survival):.1f}")
        if p.censored:
            ticks.append(
                f'<line x1="{x(p.time_days):.1f}" y1="{y(p.survival) - 4:.1f}"'
                f' x2="{x(p.time_days):.1f}" y2="{y(p.survival) + 4:.1f}" stroke="#1f4e79"/>'
            )
    frame = _frame(
        title,
        [(y(v), f"{v:.0%}") for v in (0.0, 0.25, 0.5, 0.75, 1.0)],
        [(x(t), _label(t)) for t in _ticks(0.0, last)],
    )
    curve = f'<path d="{"".join(path)}" fill="none" stroke="#1f4e79" stroke-width="2"/>'
    return _svg(title, frame + curve + "".join(ticks))


def trend_svg(
    points: Sequence[tuple[date, float]],
    title: str,
    unit: str,
    *,
    reference: tuple[float, float] | None = None,
) -> str:
    """One patient's results of one analyte over time, with the reference range shaded."""
    if not points:
        message = '<text x="50%" y="50%" text-anchor="middle">No results yet</text>'
        return _svg(title, _frame(title, [], []) + message)
    ordered = sorted(points)
    values = [v for _, v in ordered] + (list(reference) if reference else [])
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    # Lab values are never negative: the axis stops at zero rather than padding below it.
    y_ticks = _ticks(max(low - pad, 0.0) if low >= 0 else low - pad, high + pad)
    y = _scale(y_ticks[0], y_ticks[-1], HEIGHT - BOTTOM, TOP)
    first, final = ordered[0][0].toordinal(), ordered[-1][0].toordinal()
    x = _scale(first - 7, final + 7, LEFT + 8, WIDTH - RIGHT)
    band = ""
    if reference:
        top, bottom = y(reference[1]), y(reference[0])
        band = (
            f'<rect x="{LEFT}" y="{top:.1f}" width="{WIDTH - RIGHT - LEFT}"'
            f' height="{bottom - top:.1f}" fill="#e3f1e3"/>'
        )
    dates = {ordered[0][0], ordered[-1][0]}
    frame = _frame(
        f"{title} ({unit})" if unit else title,
        [(y(v), _label(v)) for v in y_ticks],
        [(x(d.toordinal()), d.isoformat()) for d in sorted(dates)],
    )
    coords = " ".join(f"{x(d.toordinal()):.1f},{y(v):.1f}" for d, v in ordered)
    line = f'<polyline points="{coords}" fill="none" stroke="#1f4e79" stroke-width="2"/>'
    dots = "".join(
        f'<circle cx="{x(d.toordinal()):.1f}" cy="{y(v):.1f}" r="3" fill="#1f4e79">'
        f"<title>{d.isoformat()}: {escape(_label(v))} {escape(unit)}</title></circle>"
        for d, v in ordered
    )
    return _svg(title, band + frame + line + dots)
