"""The facts behind the bedside checks, read in two statements (SPEC 4.8, 9).

A verification is the hottest write of the trial, so its reads are plain rows, not ORM
entities: one statement for the bag (with its dose, label, batch state, custody summary,
excursions, infusion, last confirmation and the protocol settings the checks use, all as
columns of the same row) and one for the patient with the next dose due. The same two
statements run for a cell bag and a saline bag, and for an unknown code too, so neither the
answer nor its timing differs by arm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from ..bagging.models import Bag, BagLabelIssue, BagSource
from ..bagging.service import effective_status
from ..core.clock import site_today
from ..core.ids import parse_bag_code, parse_patient_code
from ..core.isbt128 import ScanError
from ..custody.service import chain_summary_columns, chain_summary_of, judge_chain
from ..custody.shipments import excursion_columns, excursion_status_of
from ..extensions import db
from ..manufacturing.models import Lot
from ..protocol import service as protocol
from ..trial.models import Dose, Patient
from ..trial.states import OPEN_STATES
from .checks import Facts
from .models import Infusion, Verification

SETTINGS = ("weight_tolerance_pct", "max_minutes_out_of_range", "verification_validity_minutes")
# A batch in one of these states keeps its bags usable (SPEC 4.7); `expired` by the batch's own
# clock still counts: the bag's expiry (the same rule for both arms) is checked on the bag.
USABLE_LOT_STATES = frozenset({"released", "expired"})


@dataclass(frozen=True)
class DoseFacts:
    id: int
    dose_number: int
    state: str
    cleared_at: datetime | None
    window_start: date
    window_end: date
    prepared_weight_kg: float | None


@dataclass(frozen=True)
class BagFacts:
    id: int
    bag_id: str
    patient_id: int
    dose_id: int
    status: str
    expires_at: datetime | None
    prepared_weight_kg: float | None
    dose: DoseFacts


@dataclass(frozen=True)
class PatientFacts:
    id: int
    subject_id: str
    status: str


@dataclass(frozen=True)
class NextDose:
    id: int
    dose_number: int


@cache
def _bag_statement(by: str) -> sa.Select:
    """Built once per process (by "code" or "pk"); `today` and the key are bound per call."""
    today = sa.bindparam("today", type_=sa.Date)
    lot_state = (sa.select(Lot.state).select_from(BagSource)
                 .outerjoin(Lot, Lot.id == BagSource.lot_id).where(BagSource.bag_id == Bag.id)
                 .scalar_subquery().label("lot_state"))
    infused = sa.exists().where(Infusion.bag_id == Bag.id).label("infusion_exists")
    last_confirmed = (sa.select(sa.func.max(Verification.confirmed_at))
                      .where(Verification.bag_id == Bag.id).scalar_subquery()
                      .label("last_confirmed_at"))
    statement = (
        sa.select(
            Bag.id, Bag.bag_id, Bag.patient_id, Bag.dose_id, Bag.status, Bag.expires_at,
            Bag.prepared_weight_kg, Dose.dose_number, Dose.state.label("dose_state"),
            Dose.cleared_at, Dose.window_start, Dose.window_end,
            Dose.prepared_weight_kg.label("dose_prepared_weight_kg"),
            lot_state, infused, last_confirmed,
            *chain_summary_columns(Bag.id), *excursion_columns(Bag.id),
            *(protocol.value_column(key, today) for key in SETTINGS),
        )
        .select_from(Bag).join(Dose, Dose.id == Bag.dose_id)
    )
    if by == "pk":
        return statement.where(Bag.id == sa.bindparam("key"))
    return (statement.add_columns(BagLabelIssue.voided_at.label("label_voided_at"))
            .join(BagLabelIssue, BagLabelIssue.bag_id == Bag.id)
            .where(BagLabelIssue.code == sa.bindparam("key")))


def _bag_of(row: sa.Row) -> BagFacts:
    return BagFacts(
        id=row.id, bag_id=row.bag_id, patient_id=row.patient_id, dose_id=row.dose_id,
        status=row.status, expires_at=row.expires_at, prepared_weight_kg=row.prepared_weight_kg,
        dose=DoseFacts(id=row.dose_id, dose_number=row.dose_number, state=row.dose_state,
                       cleared_at=row.cleared_at, window_start=row.window_start,
                       window_end=row.window_end,
                       prepared_weight_kg=row.dose_prepared_weight_kg),
    )


def _read_bag(*, code: str | None, bag_pk: int | None,
              today: date) -> tuple[sa.Row | None, str | None]:
    """(row, problem): an unknown or unreadable code is "bag not known", a replaced label's
    code "label voided: this label was replaced" (SPEC 4.6, 4.8)."""
    if bag_pk is not None:
        row = db.session.execute(_bag_statement("pk"), {"key": bag_pk, "today": today}).first()
        return row, None
    text = (code or "").strip()
    if not text:
        return None, _("bag not known")
    try:
        parse_bag_code(text)
    except ScanError as bad:
        return None, _("bag not known: %(why)s", why=str(bad).rstrip(".").lower())
    row = db.session.execute(_bag_statement("code"),
                             {"key": "".join(text.split()).upper(), "today": today}).first()
    if row is None:
        return None, _("bag not known")
    if row.label_voided_at is not None:
        return None, _("label voided: this label was replaced")
    return row, None


def wristband_subject(code: str | None) -> tuple[str | None, str | None]:
    """(subject id, problem) of a scanned wristband, in the words the bedside shows."""
    text = (code or "").strip()
    if not text:
        return None, _("wristband not scanned")
    try:
        return parse_patient_code(text), None
    except ScanError as bad:
        return None, _("wristband not known: %(why)s", why=str(bad).rstrip("."))


@cache
def _patient_statement(by: str) -> sa.Select:
    """The patient with the next dose due: the lowest-numbered dose still to be given whose
    window has not ended (`trial.next_due_dose`). Built once per process (by "subject" or
    "pk")."""
    key = Patient.id if by == "pk" else Patient.subject_id
    return (
        sa.select(Patient.id, Patient.subject_id, Patient.status,
                  Dose.id.label("dose_id"), Dose.dose_number)
        .outerjoin(Dose, (Dose.patient_id == Patient.id) & Dose.state.in_(sorted(OPEN_STATES))
                   & (Dose.window_end >= sa.bindparam("today", type_=sa.Date)))
        .where(key == sa.bindparam("key")).order_by(Dose.dose_number).limit(1)
    )


def _read_patient(*, code: str | None, patient_pk: int | None, today: date,
                  ) -> tuple[PatientFacts | None, NextDose | None, str | None]:
    """(patient, next dose due, problem), as the screen shows them after the wristband scan."""
    if patient_pk is not None:
        by, key = "pk", patient_pk
    else:
        by = "subject"
        key, problem = wristband_subject(code)
        if key is None:
            return None, None, problem
    row = db.session.execute(_patient_statement(by), {"key": key, "today": today}).first()
    if row is None:
        return None, None, _("wristband not known")
    patient = PatientFacts(id=row.id, subject_id=row.subject_id, status=row.status)
    next_due = None if row.dose_id is None else NextDose(row.dose_id, row.dose_number)
    return patient, next_due, None


def status_as_read(bag: Any, now: datetime, *, last_confirmed_at: datetime | None,
                   validity_minutes: int) -> str:
    """A bag's status as people should read it (SPEC 4.7, 4.8): `expired` past expiry, and a
    `verified` bag whose last confirmation is older than the validity time counts as
    `received_on_ward` again. Reading never writes. `bag` is an entity or a row."""
    status = effective_status(bag, now)
    if status == "verified" and (
            last_confirmed_at is None
            or now >= last_confirmed_at + timedelta(minutes=validity_minutes)):
        return "received_on_ward"
    return status


def gather(
    *, bag_code: str | None = None, bag_pk: int | None = None, patient_code: str | None = None,
    patient_pk: int | None = None, ward_code: str | None, weight_kg: float | None,
    identity_confirmed: bool | None, bag_intact: bool | None, now: datetime,
) -> Facts:
    """Everything the checks need for one bag (by label code or id) and one patient (by
    wristband code or id), at `now`."""
    today = site_today()
    row, bag_problem = _read_bag(code=bag_code, bag_pk=bag_pk, today=today)
    patient, next_due, patient_problem = _read_patient(code=patient_code, patient_pk=patient_pk,
                                                       today=today)
    facts = Facts(
        now=now, today=today, ward_code=ward_code, bag_problem=bag_problem, patient=patient,
        patient_problem=patient_problem, next_due=next_due, weight_kg=weight_kg,
        identity_confirmed=identity_confirmed, bag_intact=bag_intact,
    )
    if row is not None:
        facts.bag = _bag_of(row)
        facts.bag_status = status_as_read(
            row, now, last_confirmed_at=row.last_confirmed_at,
            validity_minutes=int(protocol.decode("verification_validity_minutes",
                                                 row.verification_validity_minutes)))
        facts.source_released = row.lot_state is None or row.lot_state in USABLE_LOT_STATES
        chain = judge_chain(chain_summary_of(row), ward_code)
        facts.chain_complete, facts.chain_message = chain.complete, chain.message
        facts.open_excursions, facts.minutes_out_of_range = excursion_status_of(row)
        facts.infusion_exists = bool(row.infusion_exists)
        facts.tolerance_pct = float(protocol.decode("weight_tolerance_pct",
                                                    row.weight_tolerance_pct))
        facts.max_minutes_out_of_range = float(protocol.decode(
            "max_minutes_out_of_range", row.max_minutes_out_of_range))
    return facts
