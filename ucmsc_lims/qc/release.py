"""Lot release, conditional release, rejection, hold and recall by QA e-signature (SPEC 4.3).

Release lives with QC, downstream of manufacturing: it reads the lot, its donor, its results and
deviations, and moves the lot through manufacturing's one transition function. A hold or recall
of a batch also holds its un-infused bags, with their placebo parity (`bagging.holds`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..auth.models import User
from ..bagging import holds
from ..bagging.models import LOT_HOLD, RECALL
from ..core import esign
from ..core.db import utcnow
from ..core.errors import DomainError, NotPermitted
from ..donors.service import release_gaps
from ..extensions import db
from ..manufacturing import actions
from ..manufacturing import service as manufacturing
from ..manufacturing.models import Lot
from . import service as qc
from .models import QcResult


def _segregation_gap(lot: Lot, by: User | None, user_ids: set[int] | None = None) -> str | None:
    """SPEC 2: the QA person who releases a lot recorded no manufacturing step of it
    (`user_ids`: the lot's manufacturing user ids when the caller has already read them)."""
    if by is None:
        return None
    if user_ids is None:
        user_ids = manufacturing.manufacturing_user_ids(lot)
    if by.id in user_ids:
        return (f"{by.full_name} recorded a manufacturing step of lot {lot.lot_id}: "
                "another QA person must release it.")
    return None


def release_blockers(lot: Lot, *, by: User | None = None,
                     pending: Sequence[str] = ()) -> list[str]:
    """Every reason the lot cannot be released now, in plain words; empty when it can."""
    return release_blockers_many([lot], by=by, pending=pending)[lot.id]


def release_blockers_many(lots: Sequence[Lot], *, by: User | None = None,
                          pending: Sequence[str] = ()) -> dict[int, list[str]]:
    """`release_blockers` of many lots, keyed by `Lot.id`, with a number of queries that does
    not grow with the number of lots."""
    if not lots:
        return {}
    manufacturing.load_parents(lots)
    data = qc.lots_qc(lots)
    user_ids = manufacturing.manufacturing_user_ids_many(lots) if by is not None else {}
    criteria: dict[int, str] = {}
    return {lot.id: _blockers(lot, data[lot.id], by=by, pending=pending,
                              user_ids=user_ids.get(lot.id, set()), criteria=criteria)
            for lot in lots}


def _blockers(lot: Lot, data: qc.LotQc, *, by: User | None, pending: Sequence[str],
              user_ids: set[int], criteria: dict[int, str]) -> list[str]:
    """The blockers of one lot from its preloaded rows; `criteria` caches each specification
    item's criterion across the lots of one call (a criterion may read a protocol setting)."""
    blockers: list[str] = []
    not_now = actions.refusal(lot, "release")
    if not_now:
        blockers.append(not_now)
    blockers += release_gaps(lot.collection)
    if lot.parent is not None and lot.parent.state not in {"released", "expired"}:
        blockers.append(f"Its cell bank lot {lot.parent.lot_id} is "
                        f"{lot.parent.state.replace('_', ' ')}.")
    unverified = [p.label for p in lot.passages if p.verifier_id is None]
    if unverified:
        blockers.append(f"Passage {', '.join(unverified)} is not verified by a second person.")
    rows = data.statuses()
    pendable = {row.item.test for row in rows if row.item.may_be_pending}
    for name in pending:
        if name not in pendable:
            blockers.append(f"'{name}' cannot be left pending: only "
                            f"{', '.join(sorted(pendable)) or 'no test'} may be.")
    for row in rows:
        label = row.item.label
        if row.result is None:
            if row.item.test not in pending:
                blockers.append(f"{label}: no result.")
            continue
        if row.item.test in pending:
            blockers.append(f"{label} already has a result: it is not pending.")
        if not row.result.passed:
            dev = row.deviation
            if row.item.id not in criteria:
                criteria[row.item.id] = row.item.criterion
            where = f"{label} failed ({row.result.value_display}, specification " \
                    f"{criteria[row.item.id]})"
            if dev is None:
                blockers.append(f"{where}: no deviation covers it.")
            elif dev.state == "open":
                blockers.append(f"{where}: deviation {dev.number} is open.")
            elif dev.disposition != "use":
                blockers.append(f"{where}: deviation {dev.number} was closed with the "
                                "disposition that the lot must not be used.")
        if row.result.reviewer_id is None:
            blockers.append(f"{label}: the result is not reviewed by QA.")
    for dev in data.deviations:
        if dev.state == "open" and dev.qc_result_id is None:
            blockers.append(f"Deviation {dev.number} is open: {dev.title}")
    gap = _segregation_gap(lot, by, user_ids)
    if gap:
        blockers.append(gap)
    return blockers


def release_refusals(lot: Lot, *, by: User | None) -> list[str]:
    """What stands in the way of any release by `by`, even a conditional one: the blockers
    left when every test that may be pending and has no result is left pending. The release
    page offers the signature only when this is empty (SPEC 4.3)."""
    rows = qc.lot_qc(lot).statuses()
    pendable = [row.item.test for row in rows if row.item.may_be_pending and row.result is None]
    return release_blockers(lot, by=by, pending=pendable)


def _content(lot: Lot, meaning: str, **extra) -> dict:
    _, rows = qc.item_statuses(lot)
    return {"lot_id": lot.lot_id, "din": lot.din, "kind": lot.kind, "state": lot.state,
            "meaning": meaning, "results": {r.item.test: r.status for r in rows}, **extra}


def _require_qa(by: User, permission: str = "lot.release") -> None:
    if not by.can(permission):
        raise NotPermitted("Only QA releases, rejects, holds and recalls lots.")


def release_lot(lot: Lot, *, by: User, username: str, password: str,
                conditional_tests: Sequence[str] = ()) -> Lot:
    """QA releases the lot by e-signature ("lot release"), conditionally with named tests
    pending; the signature also attests that the batch record was reviewed."""
    _require_qa(by)
    pending = [t for t in dict.fromkeys(conditional_tests) if t]
    gap = _segregation_gap(lot, by)
    if gap:
        raise NotPermitted(gap)
    blockers = release_blockers(lot, by=by, pending=pending)
    if blockers:
        raise DomainError(f"Lot {lot.lot_id} cannot be released: " + " ".join(blockers))
    signature = esign.sign(
        db.session, username=username, password=password, meaning="lot_release",
        entity=("lot", lot.lot_id), signer_must_be=by,
        content=_content(lot, "lot_release", conditional_tests=pending,
                         batch_record_reviewed=True))
    manufacturing.transition(lot, "released", by=by, signature=signature,
                             reason=("conditional release, pending: " + ", ".join(pending))
                             if pending else None)
    lot.released_at = signature.signed_at
    lot.release_signature_id = signature.id
    lot.conditional_tests = pending or None
    return lot


def reject_lot(lot: Lot, *, by: User, username: str, password: str, reason: str) -> Lot:
    _require_qa(by)
    actions.require(lot, "reject")
    if not reason.strip():
        raise DomainError("Give the reason the lot is rejected.")
    signature = esign.sign(db.session, username=username, password=password,
                           meaning="lot_rejection", entity=("lot", lot.lot_id),
                           signer_must_be=by, content=_content(lot, "lot_rejection",
                                                               reason=reason))
    return manufacturing.transition(lot, "rejected", by=by, reason=reason, signature=signature)


def hold_lot(lot: Lot, *, by: User, username: str, password: str, reason: str) -> Lot:
    """QA holds the lot by e-signature; a batch's un-infused bags go on hold with it, and with
    them as many saline bags of their fill day (placebo parity, SPEC 4.5)."""
    _require_qa(by, "lot.hold")
    manufacturing.machine_for(lot.kind).check(lot.state, "on_hold")
    if not reason.strip():
        raise DomainError("Give the reason the lot is held.")
    signature = esign.sign(db.session, username=username, password=password, meaning="lot_hold",
                           entity=("lot", lot.lot_id), signer_must_be=by,
                           content=_content(lot, "lot_hold", reason=reason))
    manufacturing.transition(lot, "on_hold", by=by, reason=reason, signature=signature)
    holds.hold_lot_bags(lot, kind=LOT_HOLD, by=by, reason=reason, signature=signature)
    return lot


def end_hold(lot: Lot, *, by: User, username: str, password: str, reason: str) -> Lot:
    """A held lot goes back to the state it was held from, by QA's signed disposition (SPEC 2:
    QA holds by e-signature, and a hold is lifted the same way); the bags it held, and as many
    of their parity bags, go back to the state they left in the same action."""
    _require_qa(by, "lot.hold")
    if lot.state != "on_hold":
        raise DomainError(f"Lot {lot.lot_id} is not on hold.")
    if not reason.strip():
        raise DomainError("Give the reason the hold ends.")
    signature = esign.sign(db.session, username=username, password=password,
                           meaning="lot_hold_disposition", entity=("lot", lot.lot_id),
                           signer_must_be=by,
                           content=_content(lot, "lot_hold_disposition", reason=reason))
    manufacturing.transition(lot, lot.held_from or "", by=by, reason=reason,
                             signature=signature)
    holds.end_lot_hold(lot, by=by, username=username, password=password, reason=reason)
    return lot


def recall_lot(lot: Lot, *, by: User, username: str, password: str, reason: str) -> Lot:
    """SPEC 4.2, 4.9: a recall is signed; the look-back starts from the recalled lot. Its
    un-infused bags go on hold with their parity bags, for the pharmacist to destroy."""
    _require_qa(by, "lot.hold")
    manufacturing.machine_for(lot.kind).check(lot.state, "recalled")
    if not reason.strip():
        raise DomainError("Give the reason the lot is recalled.")
    signature = esign.sign(db.session, username=username, password=password,
                           meaning="lot_recall", entity=("lot", lot.lot_id), signer_must_be=by,
                           content=_content(lot, "lot_recall", reason=reason))
    manufacturing.transition(lot, "recalled", by=by, reason=reason, signature=signature)
    holds.hold_lot_bags(lot, kind=RECALL, by=by, reason=reason, signature=signature)
    return lot


@dataclass(frozen=True)
class QueueRow:
    lot: Lot
    blockers: list[str]

    @property
    def releasable(self) -> bool:
        return not self.blockers


def release_queue(by: User | None = None) -> list[QueueRow]:
    lots = manufacturing.list_lots(state="qc_pending", limit=500)
    blockers = release_blockers_many(lots, by=by)
    return [QueueRow(lot, blockers[lot.id]) for lot in lots]


def conditional_open(lot: Lot) -> list[str]:
    """The named tests of a conditional release that still have no passing result."""
    if not lot.conditional_tests:
        return []
    return _conditional_open(lot, qc.latest_results(lot))


def _conditional_open(lot: Lot, latest: dict[str, QcResult]) -> list[str]:
    return [t for t in lot.conditional_tests or () if t not in latest or not latest[t].passed]


def qc_summary(lot: Lot) -> dict:
    """The QC summary of the API and the lot page."""
    return qc_summaries([lot])[lot.id]


def qc_summaries(lots: Sequence[Lot]) -> dict[int, dict]:
    """`qc_summary` of many lots, keyed by `Lot.id`, from one query per kind of QC row."""
    data = qc.lots_qc(lots)
    return {lot.id: _summary(lot, data[lot.id]) for lot in lots}


def _summary(lot: Lot, data: qc.LotQc) -> dict:
    rows = data.statuses()
    spec = data.spec
    return {
        "specification": f"{spec.title} v{spec.version}",
        "required": len(rows),
        "passed": sum(1 for r in rows if r.status == "pass"),
        "failed": [r.item.test for r in rows if r.result is not None and not r.result.passed],
        "missing": [r.item.test for r in rows if r.result is None],
        "open_deviations": [d.number for d in data.deviations if d.state == "open"],
        "conditional_pending": _conditional_open(lot, data.latest),
        "checked_at": utcnow(),
    }
