"""Dose and follow-up visit schedules counted from day 0 (SPEC 1, 4.4)."""

from datetime import date, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from ucmsc_lims.followup.schedule import (
    ProtocolSchedule,
    VisitDue,
    VisitState,
    dose_schedule,
    visit_schedule,
    visit_state,
    visit_weeks,
    visits_due,
)

DAY0 = date(2025, 1, 6)


def test_doses_fall_on_days_0_28_and_56():
    doses = dose_schedule(DAY0)
    assert [(d.dose_number, (d.due_on - DAY0).days) for d in doses] == [(1, 0), (2, 28), (3, 56)]


def test_dose_1_has_no_window_because_it_defines_day_0():
    first = dose_schedule(DAY0)[0]
    assert first.window_start == first.window_end == first.due_on == DAY0


def test_later_doses_have_a_window_of_three_days_either_side():
    second = dose_schedule(DAY0)[1]
    assert (second.window_start, second.window_end) == (date(2025, 1, 31), date(2025, 2, 6))


def test_dose_schedule_follows_the_protocol_settings():
    protocol = ProtocolSchedule(dose_count=2, interval_days=21, window_days=1)
    doses = dose_schedule(DAY0, protocol)
    assert [(d.due_on, d.window_start) for d in doses] == [
        (DAY0, DAY0),
        (DAY0 + timedelta(days=21), DAY0 + timedelta(days=20)),
    ]


def test_visit_weeks_run_every_26_weeks_after_48_and_end_at_week_326():
    assert visit_weeks() == [12, 24, 48, 74, 100, 126, 152, 178, 204, 230, 256, 282, 308, 326]


def test_visit_weeks_do_not_repeat_the_last_week_when_the_rhythm_lands_on_it():
    assert visit_weeks(ProtocolSchedule(last_week=308))[-2:] == [282, 308]


def test_visits_are_due_whole_weeks_after_day_0():
    visits = visit_schedule(DAY0)
    assert [(v.due_on - DAY0).days for v in visits[:3]] == [84, 168, 336]


def test_the_last_visit_is_at_month_75():
    last = visit_schedule(DAY0)[-1]
    assert (last.visit_week, last.due_on) == (326, DAY0 + timedelta(days=326 * 7))


def test_visit_window_defaults_to_seven_days_either_side():
    week12 = visit_schedule(DAY0)[0]
    assert (week12.window_start, week12.window_end) == (
        week12.due_on - timedelta(days=7),
        week12.due_on + timedelta(days=7),
    )


def test_visit_window_is_a_protocol_setting():
    week12 = visit_schedule(DAY0, ProtocolSchedule(visit_window_days=14))[0]
    assert (week12.window_end - week12.window_start).days == 28


@settings(max_examples=100)
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)))
def test_visit_windows_never_overlap(day0):
    visits = visit_schedule(day0)
    assert all(a.window_end < b.window_start for a, b in pairwise(visits))


WEEK12 = VisitDue(12, date(2025, 3, 31), date(2025, 3, 24), date(2025, 4, 7))


def test_visit_before_its_window_is_upcoming():
    assert visit_state(WEEK12, date(2025, 3, 23)) == VisitState.UPCOMING


def test_visit_is_due_from_the_first_day_of_its_window():
    assert visit_state(WEEK12, date(2025, 3, 24)) == VisitState.DUE


def test_visit_is_still_due_on_the_last_day_of_its_window():
    assert visit_state(WEEK12, date(2025, 4, 7)) == VisitState.DUE


def test_visit_is_overdue_the_day_after_its_window():
    assert visit_state(WEEK12, date(2025, 4, 8)) == VisitState.OVERDUE


def test_recorded_visit_is_never_overdue():
    assert visit_state(WEEK12, date(2026, 1, 1), recorded=True) == VisitState.RECORDED


def test_worklist_holds_due_and_overdue_visits_most_urgent_first():
    visits = visit_schedule(DAY0)
    today = visits[1].due_on  # week 24 due today, week 12 long past
    worklist = visits_due(visits, today)
    assert [(i.visit.visit_week, i.state, i.days_left) for i in worklist] == [
        (12, VisitState.OVERDUE, (visits[0].window_end - today).days),
        (24, VisitState.DUE, 7),
    ]


def test_worklist_leaves_out_recorded_visits():
    visits = visit_schedule(DAY0)
    worklist = visits_due(visits, visits[1].due_on, recorded_weeks={12})
    assert [i.visit.visit_week for i in worklist] == [24]


def test_worklist_is_empty_before_the_first_window_opens():
    assert visits_due(visit_schedule(DAY0), DAY0 + timedelta(days=30)) == []
