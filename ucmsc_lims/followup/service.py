"""Follow-up visits (SPEC 4.10): the schedule, the worklist, visits with their labs, scores.

The only place that changes follow-up records, with `events` (clinical events, death) and
`lock` (the database lock): each action checks the lock, the patient and the schedule, changes,
flushes and writes its audit entry in the caller's transaction. No arm is read here: the
follow-up a blinded investigator records and reads is the same for both arms. Other modules call
this one; the names of `reads`, `events` and `lock` are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from ..auth.models import User
from ..core import audit
from ..core.clock import site_today
from ..core.db import utcnow
from ..core.errors import Conflict, DomainError
from ..extensions import db
from ..protocol import service as protocol
from ..protocol.models import ProtocolSettingVersion
from ..trial.models import Patient
from . import units
from .events import (  # noqa: F401  (the public actions and reads of follow-up)
    CAUSALITY_LABELS,
    EVENT_LABELS,
    RECORDABLE_EVENTS,
    Survival,
    assess_adverse_event,
    record_death,
    record_event,
    survival_of,
    survival_times,
    void_event,
)
from .lock import check_unlocked, current_lock, lock_database, lock_signature  # noqa: F401
from .models import ASCITES, ClinicalEvent, LabResult, Visit
from .reads import (  # noqa: F401
    completed_visits,
    death_of,
    events_of,
    followed_patients,
    get_event,
    get_lab,
    get_patient,
    get_visit,
    visits_of,
)
from .schedule import ProtocolSchedule, VisitDue, VisitState, visit_schedule, visit_state
from .scores import Encephalopathy, VisitScores, visit_scores

ASCITES_LABELS = {"none": "None", "mild": "Mild", "moderate_severe": "Moderate to severe"}
MAX_VALUE_CHARS = 24


# --- the schedule ---------------------------------------------------------------------------


def protocol_schedule(day0: date) -> ProtocolSchedule:
    """The follow-up settings in force on day 0 (SPEC 1: versioned, so reproducible)."""
    return ProtocolSchedule(
        followup_weeks=tuple(protocol.value("followup_weeks", day0)),
        then_every_weeks=protocol.value("followup_every_weeks", day0),
        last_week=protocol.value("followup_last_week", day0),
        visit_window_days=protocol.value("followup_window_days", day0),
    )


def planned_visits(patient: Patient) -> list[VisitDue]:
    return visit_schedule(patient.day0, protocol_schedule(patient.day0))


@dataclass(frozen=True)
class PlannedVisit:
    """A protocol visit as it stands: planned, and the record once there is one."""

    due: VisitDue
    state: VisitState
    visit: Visit | None

    @property
    def missed(self) -> bool:
        return self.visit is not None and self.visit.status == "missed"


def visit_plan(patient: Patient, *, today: date | None = None) -> list[PlannedVisit]:
    """Every protocol visit of the patient with its state today; none after a death."""
    today = today or site_today()
    recorded = {v.visit_week: v for v in visits_of(patient)}
    death = death_of(patient)
    plan = []
    for due in planned_visits(patient):
        visit = recorded.get(due.visit_week)
        if visit is None and death is not None and due.window_start > death.onset_date:
            continue
        state = visit_state(due, today, recorded=visit is not None)
        plan.append(PlannedVisit(due, state, visit))
    return plan


@dataclass(frozen=True)
class WorklistRow:
    subject_id: str
    visit_week: int
    due_on: date
    window_start: date
    window_end: date
    state: VisitState
    days_left: int


# The settings that place follow-up visits: a new version of any of them starts a new schedule.
SCHEDULE_SETTINGS = ("followup_weeks", "followup_every_weeks", "followup_last_week",
                     "followup_window_days")
# Offsets from day 0 are the same for every day 0; this one only anchors the arithmetic.
_ANY_DAY0 = date(2000, 1, 1)


def worklist(*, today: date | None = None, limit: int | None = None) -> list[WorklistRow]:
    """The investigator's worklist: visits due or overdue today across active patients, the
    most urgent first (the `limit` most urgent; all without one). Patients withdrawn, dead or
    with a recorded death are not followed.

    A visit week's windows end in the order of the patients' day 0, so each (schedule, week)
    is one query that reads its most urgent patients by day 0 and stops at `limit`; merging
    those lists gives the answer. The cost follows the number of visit weeks, never the number
    of patients (about 15 queries for 300 patients or 300,000).
    """
    today = today or site_today()
    rows: list[WorklistRow] = []
    for start, end, schedule in _schedule_periods(today):
        window = timedelta(days=schedule.visit_window_days)
        for due in visit_schedule(_ANY_DAY0, schedule):
            offset = due.due_on - _ANY_DAY0  # day 0 to this visit's due date
            latest_day0 = min(today, today - offset + window, end - timedelta(days=1))
            if latest_day0 < start:
                continue  # no patient of this period has reached the window yet
            for patient in db.session.execute(
                _waiting_for_week(due.visit_week, start, latest_day0, limit)
            ):
                visit = VisitDue(due.visit_week, patient.day0 + offset,
                                 patient.day0 + offset - window, patient.day0 + offset + window)
                rows.append(WorklistRow(
                    patient.subject_id, visit.visit_week, visit.due_on, visit.window_start,
                    visit.window_end, visit_state(visit, today),
                    (visit.window_end - today).days))
    rows.sort(key=lambda row: (row.window_end, row.subject_id))
    return rows if limit is None else rows[:limit]


def _schedule_periods(today: date) -> list[tuple[date, date, ProtocolSchedule]]:
    """(first day 0, first day 0 after, schedule) for each stretch of day 0s that one version
    of the follow-up settings governs (SPEC 1: a patient keeps the schedule of their day 0)."""
    changes = sorted(set(db.session.scalars(
        sa.select(ProtocolSettingVersion.effective_from).where(
            ProtocolSettingVersion.key.in_(SCHEDULE_SETTINGS),
            ProtocolSettingVersion.effective_from <= today))))
    starts = [date.min, *changes]
    ends = [*changes, date.max]
    return [(start, end, protocol_schedule(start)) for start, end in zip(starts, ends, strict=True)]


def _waiting_for_week(week: int, first_day0: date, last_day0: date,
                      limit: int | None) -> sa.Select:
    """Active patients with day 0 in [first, last] who have no visit of `week` recorded (nor
    marked missed) and no recorded death, by day 0 (the most urgent first)."""
    query = (
        sa.select(Patient.subject_id, Patient.day0)
        .where(Patient.status == "active", Patient.day0 >= first_day0,
               Patient.day0 <= last_day0,
               ~sa.exists().where(Visit.patient_id == Patient.id, Visit.visit_week == week),
               ~sa.exists().where(ClinicalEvent.patient_id == Patient.id,
                                  ClinicalEvent.kind == "death",
                                  ClinicalEvent.voided_at.is_(None)))
        .order_by(Patient.day0, Patient.subject_id)
    )
    return query if limit is None else query.limit(limit)


# --- scores ---------------------------------------------------------------------------------


def encephalopathy_of(grade: int | None) -> Encephalopathy | None:
    """West Haven grade 0-4 as Child-Pugh scores it: none, grade 1-2, grade 3-4."""
    if grade is None:
        return None
    if grade == 0:
        return Encephalopathy.NONE
    return Encephalopathy.GRADE_1_2 if grade <= 2 else Encephalopathy.GRADE_3_4


def scores_of(visit: Visit) -> VisitScores:
    """SPEC 4.10: MELD, MELD-Na and Child-Pugh computed from the visit's current labs."""
    if visit.status != "completed":
        return VisitScores(None, None, None, None)
    return visit_scores(
        [(lab.analyte, lab.value, lab.unit) for lab in visit.current_labs],
        dialysis=visit.dialysis,
        ascites=visit.ascites,
        encephalopathy=encephalopathy_of(visit.encephalopathy_grade),
        pt_control_s=visit.pt_control_s,
    )


# --- recording ------------------------------------------------------------------------------


def _parse_value(code: str, raw: object) -> tuple[str, Decimal]:
    """The typed decimal, kept as text; a comma or a word is refused in plain words."""
    name = units.analyte(code).name
    text = str(raw).strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise DomainError(f"{name}: '{text}' is not a number.") from None
    if not value.is_finite() or len(text) > MAX_VALUE_CHARS:
        raise DomainError(f"{name}: '{text}' is not a number.")
    return text, value


def _lab_result(code: str, raw: object, unit: str, *, by: User) -> LabResult:
    """One checked result: known analyte and unit, a plausible value, converted and flagged."""
    code = code.strip().upper()
    try:
        text, value = _parse_value(code, raw)
        units.check_plausible(code, value, unit)
        # The accepted spelling of the unit, so 'umol/l' is shown and exported as 'umol/L'.
        written = units.accepted_unit(code, unit)
        standard, standard_unit = units.to_standard(code, value, written)
        flag = units.flag(code, value, written)
    except (units.UnknownAnalyte, units.UnknownUnit, units.ImplausibleValue) as refused:
        raise DomainError(str(refused), field_errors={code: [str(refused)]}) from None
    except DomainError as refused:
        raise DomainError(refused.message, field_errors={code: [refused.message]}) from None
    return LabResult(
        analyte=code, value_text=text, unit=written, standard_value=standard,
        standard_unit=standard_unit, flag=flag, entered_by_id=by.id,
    )


def _check_labs(
    labs: Iterable[tuple[str, object, str]], *, by: User
) -> list[LabResult]:
    """Every result checked; all refusals reported together, each beside its analyte."""
    results, errors = [], {}
    seen = set()
    for code, raw, unit in labs:
        try:
            result = _lab_result(code, raw, unit, by=by)
        except DomainError as refused:
            errors.update(refused.field_errors or {code: [refused.message]})
            continue
        if result.analyte in seen:
            errors[result.analyte] = [f"{units.analyte(result.analyte).name} is given twice."]
            continue
        seen.add(result.analyte)
        results.append(result)
    if errors:
        messages = " ".join(msg for field in errors.values() for msg in field)
        raise DomainError(messages, field_errors=errors)
    return results


def _check_assessment(
    ascites: str | None, encephalopathy_grade: int | None, pt_control_s: float | None
) -> None:
    if ascites is not None and ascites not in ASCITES:
        raise DomainError(f"Ascites must be one of: {', '.join(ASCITES)}.",
                          field_errors={"ascites": ["Unknown value."]})
    if encephalopathy_grade is not None and not 0 <= encephalopathy_grade <= 4:
        raise DomainError("The encephalopathy grade is 0 (none) to 4 (West Haven).",
                          field_errors={"encephalopathy_grade": ["0 to 4."]})
    if pt_control_s is not None:
        try:
            units.check_plausible("PT", pt_control_s, "s")
        except units.ImplausibleValue as refused:
            message = f"Control {refused}"
            raise DomainError(message, field_errors={"pt_control_s": [message]}) from None


def _check_visit_slot(patient: Patient, visit_week: int, visit_date: date | None) -> None:
    check_unlocked()
    weeks = [due.visit_week for due in planned_visits(patient)]
    if visit_week not in weeks:
        raise DomainError(
            f"Week {visit_week} is not a follow-up visit of patient {patient.subject_id}; "
            f"the protocol visits are at weeks {', '.join(map(str, weeks))}.",
            field_errors={"visit_week": ["Not a protocol visit week."]},
        )
    existing = db.session.scalar(
        sa.select(Visit.id).where(Visit.patient_id == patient.id, Visit.visit_week == visit_week)
    )
    if existing is not None:
        raise Conflict(
            f"The week {visit_week} visit of patient {patient.subject_id} is already recorded; "
            "correct its results instead.",
            field_errors={"visit_week": ["Already recorded."]},
        )
    if visit_date is None:
        return
    if visit_date < patient.day0:
        raise DomainError(
            f"The visit date {visit_date} is before day 0 ({patient.day0}).",
            field_errors={"visit_date": ["Before day 0."]},
        )
    if visit_date > site_today():
        raise DomainError(f"The visit date {visit_date} is in the future.",
                          field_errors={"visit_date": ["In the future."]})
    death = death_of(patient)
    if death is not None and visit_date > death.onset_date:
        raise DomainError(
            f"Patient {patient.subject_id} died on {death.onset_date}; "
            "no visit can be recorded after that.",
            field_errors={"visit_date": ["After the date of death."]},
        )


def _labs_audited(results: Iterable[LabResult]) -> list[dict]:
    return [{"analyte": r.analyte, "value": r.value_text, "unit": r.unit} for r in results]


def record_visit(
    patient: Patient,
    *,
    visit_week: int,
    visit_date: date,
    labs: Iterable[tuple[str, object, str]],
    by: User,
    ascites: str | None = None,
    encephalopathy_grade: int | None = None,
    dialysis: bool = False,
    pt_control_s: float | None = None,
    notes: str | None = None,
) -> Visit:
    """Record one completed visit with its labs (`(analyte, value, unit)` as written).

    Refused, with nothing stored, when the database is locked, the week is not a protocol
    visit or is already recorded, the date is before day 0, in the future or after a death,
    or any lab is unknown, in a unit not accepted or not plausible (SPEC 4.10).
    """
    _check_visit_slot(patient, visit_week, visit_date)
    _check_assessment(ascites, encephalopathy_grade, pt_control_s)
    results = _check_labs(labs, by=by)
    visit = Visit(
        patient_id=patient.id, visit_week=visit_week, status="completed", visit_date=visit_date,
        ascites=ascites, encephalopathy_grade=encephalopathy_grade, dialysis=dialysis,
        pt_control_s=pt_control_s, notes=(notes or "").strip() or None, recorded_by_id=by.id,
    )
    visit.labs = results
    db.session.add(visit)
    audit.record(db.session, "followup.visit_recorded", visit, actor=by, new={
        "subject_id": patient.subject_id, "visit_week": visit_week, "visit_date": visit_date,
        "ascites": ascites, "encephalopathy_grade": encephalopathy_grade, "dialysis": dialysis,
        "pt_control_s": pt_control_s, "labs": _labs_audited(results),
    })
    return visit


def record_missed_visit(patient: Patient, *, visit_week: int, reason: str, by: User) -> Visit:
    """Document that a protocol visit did not take place, so it leaves the worklist."""
    if not reason.strip():
        raise DomainError("Say why the visit did not take place.",
                          field_errors={"reason": ["Required."]})
    _check_visit_slot(patient, visit_week, None)
    visit = Visit(patient_id=patient.id, visit_week=visit_week, status="missed",
                  missed_reason=reason.strip(), recorded_by_id=by.id)
    db.session.add(visit)
    audit.record(db.session, "followup.visit_missed", visit, actor=by, reason=reason.strip(),
                 new={"subject_id": patient.subject_id, "visit_week": visit_week})
    return visit


def correct_lab(
    result: LabResult, *, value: object, unit: str, reason: str, by: User
) -> LabResult:
    """Replace a lab result: the old one is voided with the reason and kept (SPEC 5)."""
    check_unlocked()
    if result.voided_at is not None:
        raise Conflict("This result was already corrected; correct the current one.")
    if not reason.strip():
        raise DomainError("A correction needs a reason.", field_errors={"reason": ["Required."]})
    (replacement,) = _check_labs([(result.analyte, value, unit)], by=by)
    result.voided_at = utcnow()
    result.void_reason = reason.strip()
    db.session.flush()
    replacement.visit_id = result.visit_id
    db.session.add(replacement)
    audit.record(
        db.session, "followup.lab_corrected", replacement, actor=by, reason=reason.strip(),
        old={"id": result.id, **_labs_audited([result])[0]},
        new={"visit_id": result.visit_id, **_labs_audited([replacement])[0]},
    )
    return replacement

def lab_rows(labs: Iterable[LabResult]) -> list[Mapping[str, object]]:
    """A visit's labs for display: as written, standard, reference range and flag."""
    rows = []
    for lab in sorted(labs, key=lambda lab: list(units.ANALYTES).index(lab.analyte)):
        found = units.analyte(lab.analyte)
        low, high = found.reference
        rows.append({
            "lab": lab, "name": found.name, "reference": f"{float(low):g}–{float(high):g}",
        })
    return rows
