"""Specifications in force, QC results evaluated against them, and deviations (SPEC 4.3)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from ..auth.models import User
from ..core import audit, esign
from ..core.clock import format_local
from ..core.db import utcnow
from ..core.errors import Conflict, DomainError, NotFound, NotPermitted
from ..extensions import db
from ..manufacturing import actions
from ..manufacturing.models import Lot, Passage
from ..protocol import service as protocol
from ..protocol.settings import BY_KEY
from .models import Deviation, QcResult, Specification, SpecItem

DISPOSITIONS = {"use": "Accepted for use (justified)", "reject": "Lot must not be used"}


def _require(by: User, permission: str, message: str) -> None:
    if not by.can(permission):
        raise NotPermitted(message)


# --- Specifications -----------------------------------------------------------------------------


def spec_in_force(lot_kind: str, at: datetime | None = None) -> Specification:
    return specs_in_force([lot_kind], at)[lot_kind]


def specs_in_force(lot_kinds: Iterable[str], at: datetime | None = None
                   ) -> dict[str, Specification]:
    """The specification in force for each kind of lot, with one query for them all."""
    at = at or utcnow()
    kinds = set(lot_kinds)
    specs: dict[str, Specification] = {}
    if kinds:
        for spec in db.session.scalars(
                sa.select(Specification)
                .where(Specification.lot_kind.in_(kinds), Specification.effective_from <= at)
                .order_by(Specification.effective_from.desc(), Specification.version.desc())):
            specs.setdefault(spec.lot_kind, spec)
    missing = sorted(kinds - specs.keys())
    if missing:
        raise NotFound(f"No specification is in force for {missing[0].replace('_', ' ')} lots.")
    return specs


def list_specifications() -> list[Specification]:
    return list(db.session.scalars(sa.select(Specification)
                                   .order_by(Specification.lot_kind, Specification.version)))


def new_specification_version(lot_kind: str, *, title: str, items: list[dict], by: User,
                              effective_from: datetime) -> Specification:
    """A specification is never edited: a change is a new version with its effective time."""
    _require(by, "lot.release", "Only QA approves specifications.")
    version = (db.session.scalar(sa.select(sa.func.max(Specification.version))
                                 .where(Specification.lot_kind == lot_kind)) or 0) + 1
    spec = Specification(lot_kind=lot_kind, version=version, title=title,
                         effective_from=effective_from, created_by_id=by.id)
    spec.items = [SpecItem(position=i, **item) for i, item in enumerate(items, start=1)]
    db.session.add(spec)
    audit.record(db.session, "specification.versioned", ("specification", f"{lot_kind}:v{version}"),
                 actor=by, new={"title": title, "effective_from": effective_from,
                                "items": [{k: v for k, v in it.items()} for it in items]})
    return spec


COMPARATORS = (">=", "<=", "<", ">", "is")
ITEM_FIELDS = ("test", "label", "method", "unit", "comparator", "limit", "limit_setting",
                "expected", "may_be_pending")


def _checked_items(items: list[dict]) -> list[dict]:
    """The items of a new version as QA typed them, each complete and consistent; rows left
    blank are dropped. Every problem is named with its row."""
    checked: list[dict] = []
    problems: list[str] = []
    for row_number, raw in enumerate(items, start=1):
        item = {name: raw.get(name) for name in ITEM_FIELDS}
        for name in ("test", "label", "method", "unit", "limit_setting", "expected"):
            item[name] = (item[name] or "").strip() or None
        if not (item["test"] or item["label"]):
            continue
        item["unit"] = item["unit"] or ""
        item["may_be_pending"] = bool(item["may_be_pending"])
        where = f"Row {row_number}"
        missing = [name for name in ("test", "label", "method") if not item[name]]
        if missing:
            problems.append(f"{where}: give the {', '.join(missing)}.")
        if item["comparator"] not in COMPARATORS:
            problems.append(f"{where}: the comparison is one of {' '.join(COMPARATORS)}.")
        elif item["comparator"] == "is":
            if not item["expected"] or item["limit"] is not None or item["limit_setting"]:
                problems.append(f"{where}: a word result needs the expected word and no limit.")
        elif item["limit"] is not None and not math.isfinite(item["limit"]):
            problems.append(f"{where}: the limit is a finite number.")
        elif (item["limit"] is None) == (item["limit_setting"] is None):
            problems.append(f"{where}: give either a limit or a protocol setting, not both.")
        elif item["limit_setting"] and item["limit_setting"] not in BY_KEY:
            problems.append(f"{where}: no protocol setting is called {item['limit_setting']}.")
        checked.append(item)
    tests = [item["test"] for item in checked]
    repeated = sorted({test for test in tests if test and tests.count(test) > 1})
    if repeated:
        problems.append(f"Each test appears once: {', '.join(repeated)} is repeated.")
    if not checked:
        problems.append("A specification needs at least one test.")
    if problems:
        raise DomainError(" ".join(problems))
    return checked


def latest_specification(lot_kind: str) -> Specification:
    """The newest version of a kind, in force or scheduled: a new version builds on it."""
    spec = db.session.scalar(sa.select(Specification).where(Specification.lot_kind == lot_kind)
                             .order_by(Specification.version.desc()).limit(1))
    if spec is None:
        raise NotFound(f"No specification exists for {lot_kind.replace('_', ' ')} lots.")
    return spec


def approve_specification_version(
    lot_kind: str, *, title: str, items: list[dict], effective_from: datetime, by: User,
    username: str, password: str,
) -> Specification:
    """QA approves a new version by e-signature (SPEC 4.3, 5). It builds on the newest version
    and takes effect after it, and never in the past (the current minute counts as now), so no
    release already decided is judged again against other criteria and versions take effect in
    the order they were approved."""
    _require(by, "lot.release", "Only QA approves specifications.")
    latest = latest_specification(lot_kind)
    title = (title or "").strip()
    if not title:
        raise DomainError("Give the specification a title.", field_errors={"title": ["Required."]})
    if effective_from < utcnow().replace(second=0, microsecond=0):
        raise DomainError("A new version takes effect now or later, never in the past.",
                          field_errors={"effective_from": ["In the past."]})
    if effective_from <= latest.effective_from:
        raise DomainError(
            f"v{latest.version} takes effect on {format_local(latest.effective_from)}: a new "
            "version takes effect after it.", field_errors={"effective_from": ["Too early."]})
    checked = _checked_items(items)
    version = latest.version + 1
    esign.sign(db.session, username=username, password=password,
               meaning="specification_approval",
               entity=("specification", f"{lot_kind}:v{version}"), signer_must_be=by,
               content={"lot_kind": lot_kind, "version": version, "title": title,
                        "effective_from": effective_from, "items": checked,
                        "replaces": f"v{latest.version}"})
    return new_specification_version(lot_kind, title=title, items=checked, by=by,
                                     effective_from=effective_from)


def evaluate(item: SpecItem, *, number: float | None, text: str | None) -> bool:
    """Does a value meet the item's criterion?"""
    if item.comparator == "is":
        return (text or "").strip().lower() == (item.expected or "").lower()
    if number is None:
        raise DomainError(f"{item.label} needs a number in {item.unit}.")
    limit = item.limit_value()
    return {
        ">=": number >= limit, "<=": number <= limit, "<": number < limit, ">": number > limit,
    }[item.comparator]


# --- Results ------------------------------------------------------------------------------------


def results_of(lot: Lot, *, include_void: bool = False) -> list[QcResult]:
    return results_by_lot([lot], include_void=include_void)[lot.id]


def results_by_lot(lots: Sequence[Lot], *, include_void: bool = False
                   ) -> dict[int, list[QcResult]]:
    """Each lot's results in recording order, keyed by `Lot.id`, with one query."""
    by_lot: dict[int, list[QcResult]] = {lot.id: [] for lot in lots}
    if not by_lot:
        return by_lot
    query = sa.select(QcResult).where(QcResult.lot_id.in_(by_lot)).order_by(QcResult.id)
    if not include_void:
        query = query.where(QcResult.voided_at.is_(None))
    for result in db.session.scalars(query):
        by_lot[result.lot_id].append(result)
    return by_lot


def get_result(result_id: int) -> QcResult:
    result = db.session.get(QcResult, result_id)
    if result is None:
        raise NotFound("No such QC result.")
    return result


def latest_results(lot: Lot) -> dict[str, QcResult]:
    return latest_of(results_of(lot))


def latest_of(results: Iterable[QcResult]) -> dict[str, QcResult]:
    """The last recorded of each test among a lot's results (in recording order)."""
    latest: dict[str, QcResult] = {}
    for result in results:
        latest[result.test] = result
    return latest


def _is_after_release(lot: Lot) -> bool:
    return lot.state == "released" or (lot.state == "on_hold" and lot.held_from == "released") \
        or lot.released_at is not None


def min_hours(test: str) -> float:
    """The hours a test takes from sampling to a passing result: a protocol setting per test
    (`min_hours_<test>`, e.g. 14 days of sterility culture), none for a test without one."""
    key = f"min_hours_{test}"
    return float(protocol.value(key)) if key in BY_KEY else 0.0


def earliest_passing_result(test: str, sampled_at: datetime) -> datetime:
    return sampled_at + timedelta(hours=min_hours(test))


def record_result(lot: Lot, *, test: str, value: str | float, method: str | None,
                  sample_id: str, by: User, unit: str | None = None,
                  instrument: str | None = None, performed_at: datetime | None = None,
                  sampled_at: datetime | None = None) -> QcResult:
    """Record a result, evaluate it against the specification in force; a failing one opens a
    deviation (and, after release, an alert for QA). A passing result is refused before its
    sample time (default: the result's time) plus the test's duration; a failing one is taken
    whenever it is seen (a culture grows early, and a failure is never refused for its
    timing)."""
    _require(by, "qc.record", "Only a technician records QC results.")
    actions.require(lot, "qc_result")
    performed_at = performed_at or utcnow()
    if performed_at > utcnow():
        raise DomainError("A QC result cannot be dated in the future.")
    sampled_at = sampled_at or performed_at
    if sampled_at > performed_at:
        raise DomainError(_("A sample is taken before its result: sampled %(sampled)s, result "
                            "%(result)s.", sampled=format_local(sampled_at),
                            result=format_local(performed_at)),
                          field_errors={"sampled_at": [_("After the result.")]})
    spec = spec_in_force(lot.kind, performed_at)
    item = next((i for i in spec.items if i.test == test), None)
    if item is None:
        tests = ", ".join(i.test for i in spec.items)
        raise DomainError(f"'{test}' is not a test of {spec.title} v{spec.version}. "
                          f"Tests: {tests}.")
    if not str(sample_id).strip():
        raise DomainError("The sample id is required.")
    number: float | None = None
    text: str | None = None
    if item.comparator == "is":
        text = str(value).strip().lower()
        if not text:
            raise DomainError(f"{item.label} needs a result, such as '{item.expected}'.")
    else:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise DomainError(f"{item.label} needs a number in {item.unit}; "
                              f"'{value}' is not one.") from None
    if unit and item.comparator != "is" and unit.strip() != item.unit:
        raise DomainError(f"{item.label} is reported in {item.unit}, not {unit}.")
    passed = evaluate(item, number=number, text=text)
    earliest = earliest_passing_result(test, sampled_at)
    if passed and performed_at < earliest:
        raise DomainError(_(
            "%(test)s takes %(hours)g h from sampling: sample %(sample)s, taken %(sampled)s, "
            "can have a passing result from %(earliest)s, not before.", test=item.label,
            hours=min_hours(test), sample=str(sample_id).strip(),
            sampled=format_local(sampled_at), earliest=format_local(earliest)),
            field_errors={"value": [_("Too early for a passing result.")]})
    result = QcResult(
        lot_id=lot.id, specification_id=spec.id, test=test, method=method or item.method,
        sample_id=str(sample_id).strip(), value_number=number, value_text=text, unit=item.unit,
        instrument=instrument, sampled_at=sampled_at, performed_at=performed_at,
        recorded_by_id=by.id, recorded_by=by, passed=passed, criterion=item.criterion)
    db.session.add(result)
    audit.record(db.session, "qc.result_recorded", lot, actor=by, new={
        "test": test, "value": result.value_display, "criterion": item.criterion,
        "passed": passed, "sample_id": result.sample_id, "sampled_at": sampled_at,
        "specification": spec.version})
    if not passed:
        after = _is_after_release(lot)
        open_deviation(lot, title=f"{item.label} out of specification: {result.value_display} "
                       f"(specification {item.criterion})", by=by, result=result,
                       after_release=after)
    return result


def review_result(result: QcResult, *, by: User) -> QcResult:
    _require(by, "qc.review", "Only QA reviews QC results.")
    if result.recorded_by_id == by.id:
        raise NotPermitted("You recorded this result: another person reviews it.")
    if result.reviewer_id is not None:
        raise Conflict("This result is already reviewed.")
    result.reviewer_id = by.id
    result.reviewer = by
    result.reviewed_at = utcnow()
    audit.record(db.session, "qc.result_reviewed", ("qc_result", result.id), actor=by,
                 new={"test": result.test, "passed": result.passed})
    return result


def void_result(result: QcResult, *, by: User, reason: str) -> QcResult:
    """Correct a mistaken entry: the old result stays, marked void with the reason."""
    _require(by, "qc.record", "Only a technician corrects QC results.")
    if not reason.strip():
        raise DomainError("Give the reason the result is void.")
    if result.voided_at is not None:
        raise Conflict("This result is already void.")
    result.voided_at = utcnow()
    result.void_reason = reason
    audit.record(db.session, "qc.result_voided", ("qc_result", result.id), actor=by,
                 old={"value": result.value_display}, reason=reason)
    return result


# --- Deviations ---------------------------------------------------------------------------------


def _next_deviation_number() -> str:
    year = utcnow().year
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Deviation)
                              .where(Deviation.number.like(f"DEV-{year}-%"))) or 0
    return f"DEV-{year}-{count + 1:04d}"


def open_deviation(lot: Lot, *, title: str, by: User, result: QcResult | None = None,
                   after_release: bool = False, passage: Passage | None = None) -> Deviation:
    """A deviation on the lot: from an out-of-specification result, or from a passage whose
    growth no cell can reach (which stops the lot until QA closes it, SPEC 4.2)."""
    if not title.strip():
        raise DomainError("Describe the deviation.")
    deviation = Deviation(number=_next_deviation_number(), lot_id=lot.id, result=result,
                          title=title.strip(), opened_by_id=by.id, after_release=after_release,
                          passage_id=getattr(passage, "id", None))
    db.session.add(deviation)
    audit.record(db.session, "deviation.opened", deviation, actor=by,
                 new={"lot": lot.lot_id, "title": deviation.title,
                      "after_release": after_release,
                      **({"passage": passage.number} if passage is not None else {})})
    if after_release:
        audit.record(db.session, "qc.alert_raised", lot, actor=by,
                     new={"deviation": deviation.number, "title": deviation.title})
    return deviation


def get_deviation(number: str) -> Deviation:
    deviation = db.session.scalar(sa.select(Deviation).where(Deviation.number == number))
    if deviation is None:
        raise NotFound(f"No deviation {number}.")
    return deviation


def deviations_of(lot: Lot) -> list[Deviation]:
    return deviations_by_lot([lot])[lot.id]


def deviations_by_lot(lots: Sequence[Lot]) -> dict[int, list[Deviation]]:
    """Each lot's deviations in opening order, keyed by `Lot.id`, with one query."""
    by_lot: dict[int, list[Deviation]] = {lot.id: [] for lot in lots}
    if by_lot:
        for deviation in db.session.scalars(sa.select(Deviation)
                                            .where(Deviation.lot_id.in_(by_lot))
                                            .order_by(Deviation.id)):
            by_lot[deviation.lot_id].append(deviation)
    return by_lot


def list_deviations(*, state: str | None = None) -> list[Deviation]:
    query = sa.select(Deviation).order_by(Deviation.id.desc())
    if state:
        query = query.where(Deviation.state == state)
    return list(db.session.scalars(query))


def alerts() -> list[Deviation]:
    """SPEC 4.3: failing results on released lots, open until QA dispositions them."""
    return list(db.session.scalars(sa.select(Deviation).where(
        Deviation.after_release.is_(True), Deviation.state == "open").order_by(Deviation.id)))


def record_investigation(deviation: Deviation, *, text: str, by: User) -> Deviation:
    if not by.can("deviation.investigate"):
        raise NotPermitted("Your role does not allow recording an investigation.")
    if deviation.state != "open":
        raise Conflict(f"Deviation {deviation.number} is closed.")
    if not text.strip():
        raise DomainError("The investigation text is empty.")
    old = deviation.investigation
    deviation.investigation = text.strip()
    audit.record(db.session, "deviation.investigated", deviation, actor=by,
                 old={"investigation": old}, new={"investigation": deviation.investigation})
    return deviation


def close_deviation(deviation: Deviation, *, disposition: str, by: User, username: str,
                    password: str) -> Deviation:
    """QA's disposition, signed (meaning: deviation disposition)."""
    _require(by, "deviation.disposition", "Only QA dispositions deviations.")
    if deviation.state != "open":
        raise Conflict(f"Deviation {deviation.number} is already closed.")
    if disposition not in DISPOSITIONS:
        raise DomainError("The disposition is 'use' or 'reject'.")
    if not (deviation.investigation or "").strip():
        raise DomainError(f"Record the investigation of {deviation.number} before closing it.")
    signature = esign.sign(
        db.session, username=username, password=password, meaning="deviation_disposition",
        entity=("deviation", deviation.number), signer_must_be=by,
        content={"deviation": deviation.number, "title": deviation.title,
                 "investigation": deviation.investigation, "disposition": disposition})
    deviation.state = "closed"
    deviation.disposition = disposition
    deviation.closed_at = signature.signed_at
    deviation.closed_by_id = by.id
    deviation.signature_id = signature.id
    audit.record(db.session, "deviation.closed", deviation, actor=by,
                 old={"state": "open"}, new={"state": "closed", "disposition": disposition})
    return deviation


# --- What a lot's QC looks like -----------------------------------------------------------------


@dataclass(frozen=True)
class ItemStatus:
    item: SpecItem
    result: QcResult | None
    deviation: Deviation | None

    @property
    def status(self) -> str:
        if self.result is None:
            return "missing"
        if self.result.passed:
            return "pass"
        if self.deviation is not None and self.deviation.state == "closed":
            return f"fail, {self.deviation.number} closed ({self.deviation.disposition})"
        return "fail"


@dataclass(frozen=True)
class LotQc:
    """What one lot's QC is read from: the specification in force for its kind, its live
    results (in recording order) and its deviations (in opening order)."""

    spec: Specification
    results: list[QcResult]
    deviations: list[Deviation]

    @property
    def latest(self) -> dict[str, QcResult]:
        return latest_of(self.results)

    def statuses(self) -> list[ItemStatus]:
        """One row per item of the specification: its latest result and that result's
        deviation."""
        latest = self.latest
        by_result = {d.qc_result_id: d for d in self.deviations if d.qc_result_id}
        rows = []
        for item in self.spec.items:
            result = latest.get(item.test)
            rows.append(ItemStatus(item, result, by_result.get(result.id) if result else None))
        return rows


def lot_qc(lot: Lot) -> LotQc:
    return lots_qc([lot])[lot.id]


def lots_qc(lots: Sequence[Lot]) -> dict[int, LotQc]:
    """The QC rows of many lots, keyed by `Lot.id`: one query per kind of row (specifications,
    results, deviations), however many lots there are."""
    if not lots:
        return {}
    specs = specs_in_force(lot.kind for lot in lots)
    results = results_by_lot(lots)
    deviations = deviations_by_lot(lots)
    return {lot.id: LotQc(specs[lot.kind], results[lot.id], deviations[lot.id]) for lot in lots}


def item_statuses(lot: Lot) -> tuple[Specification, list[ItemStatus]]:
    data = lot_qc(lot)
    return data.spec, data.statuses()


def item_statuses_many(lots: Sequence[Lot]) -> dict[int, tuple[Specification, list[ItemStatus]]]:
    """`item_statuses` of many lots, keyed by `Lot.id`, with a bounded number of queries."""
    return {lot_id: (data.spec, data.statuses()) for lot_id, data in lots_qc(lots).items()}
