"""Due dates and windows of the doses and follow-up visits, counted from day 0 (SPEC 1, 4.4).

Pure date arithmetic: the protocol settings come in as a `ProtocolSchedule`, so the versioned
settings of SPEC 1 can be read by the caller and the rules here tested without a database.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


@dataclass(frozen=True)
class ProtocolSchedule:
    """The protocol settings that place doses and visits (defaults are SPEC 1's)."""

    dose_count: int = 3
    interval_days: int = 28
    window_days: int = 3
    followup_weeks: tuple[int, ...] = (12, 24, 48)
    then_every_weeks: int = 26
    last_week: int = 326
    visit_window_days: int = 7


@dataclass(frozen=True)
class DoseDue:
    dose_number: int
    due_on: date
    window_start: date
    window_end: date


@dataclass(frozen=True)
class VisitDue:
    visit_week: int
    due_on: date
    window_start: date
    window_end: date


class VisitState(StrEnum):
    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    RECORDED = "recorded"


@dataclass(frozen=True)
class WorklistItem:
    """A visit the investigator must act on; `days_left` is negative once overdue."""

    visit: VisitDue
    state: VisitState
    days_left: int


def dose_schedule(day0: date, protocol: ProtocolSchedule | None = None) -> list[DoseDue]:
    """Doses on days 0, 28, 56 (SPEC 1), each within ±window_days, except dose 1.

    Dose 1 has no window: day 0 is by definition the day dose 1 is given, so its window is that
    day alone. Later doses count from day 0, not from the previous dose, so one late dose does
    not push the rest of the schedule.
    """
    protocol = protocol or ProtocolSchedule()
    window = timedelta(days=protocol.window_days)
    doses = []
    for number in range(1, protocol.dose_count + 1):
        due = day0 + timedelta(days=(number - 1) * protocol.interval_days)
        if number == 1:
            doses.append(DoseDue(number, due, due, due))
        else:
            doses.append(DoseDue(number, due, due - window, due + window))
    return doses


def visit_weeks(protocol: ProtocolSchedule | None = None) -> list[int]:
    """Weeks 12, 24, 48, then every 26 weeks, with the last visit at week 326 (month 75).

    The 26-week rhythm (74, 100, ..., 308) does not land on week 326, so the final visit is
    added at `last_week` itself: follow-up ends at month 75 whatever the rhythm says.
    """
    protocol = protocol or ProtocolSchedule()
    weeks = [w for w in protocol.followup_weeks if w <= protocol.last_week]
    week = weeks[-1] + protocol.then_every_weeks if weeks else protocol.then_every_weeks
    while week < protocol.last_week:
        weeks.append(week)
        week += protocol.then_every_weeks
    if protocol.last_week not in weeks:
        weeks.append(protocol.last_week)
    return weeks


def visit_schedule(day0: date, protocol: ProtocolSchedule | None = None) -> list[VisitDue]:
    """Follow-up visits counted from day 0 (SPEC 1), each within ±visit_window_days."""
    protocol = protocol or ProtocolSchedule()
    window = timedelta(days=protocol.visit_window_days)
    visits = []
    for week in visit_weeks(protocol):
        due = day0 + timedelta(weeks=week)
        visits.append(VisitDue(week, due, due - window, due + window))
    return visits


def visit_state(visit: VisitDue, today: date, *, recorded: bool = False) -> VisitState:
    """Where a visit stands today; its window's last day still counts as due, not overdue."""
    if recorded:
        return VisitState.RECORDED
    if today < visit.window_start:
        return VisitState.UPCOMING
    if today <= visit.window_end:
        return VisitState.DUE
    return VisitState.OVERDUE


def visits_due(
    visits: Iterable[VisitDue], today: date, *, recorded_weeks: Collection[int] = ()
) -> list[WorklistItem]:
    """The investigator's worklist: visits due or overdue today, the most urgent first.

    `recorded_weeks` are visits already entered (or documented as missed); they leave the list.
    """
    items = []
    for visit in visits:
        state = visit_state(visit, today, recorded=visit.visit_week in recorded_weeks)
        if state in (VisitState.DUE, VisitState.OVERDUE):
            items.append(WorklistItem(visit, state, (visit.window_end - today).days))
    return sorted(items, key=lambda item: item.visit.window_end)
