"""The bag's life cycle (SPEC 4.7) and the reads other domains and the API use.

`transition_bag` is the one place a bag's state changes; custody and the bedside call it. The
actions that make and label bags live in `fill.py` and `printing.py`, the product holds and their
placebo parity in `holds.py`; all move bags through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased, lazyload

from ..auth.models import User
from ..core import audit
from ..core.db import utcnow
from ..core.errors import DomainError, InvalidTransition, NotFound, NotPermitted
from ..core.esign import Signature
from ..core.ids import ScanError, parse_bag_code
from ..core.locking import lock_for_update
from ..core.permissions import PHARMACIST
from ..extensions import db
from ..manufacturing.models import Lot
from ..trial.models import Dose, Patient
from .models import LOT_HOLD, Bag, BagLabelIssue, BagSource, ProductHold, ProductHoldBag
from .states import (
    BAG_MACHINE,
    BAG_RULES,
    BEFORE_INFUSING,
    NEVER_EXPIRED,
    ON_HOLD,
    REFUSED_WHEN_EXPIRED,
    RELEASED,
)

EXPIRED = "expired"
# SPEC 4.8: what a blinded reader is told about a hold or its end, whatever the true reason.
BLINDED_HOLD_REASON = "product on hold: contact pharmacy"
# Moves whose reason may name a lot, a recall or an excursion: blinded readers get the phrase
# above and the true reason goes to an entry they cannot read.
_REASON_HIDDEN = frozenset({ON_HOLD, "destroyed"})

ROLE_WORDS = {
    "technician": "a technician", "pharmacist": "a pharmacist", "qa": "QA", "nurse": "a nurse",
}


# --- reading -----------------------------------------------------------------------------------


def get_bag(bag_id: str) -> Bag:
    bag = db.session.scalar(sa.select(Bag).where(Bag.bag_id == bag_id.strip().upper()))
    if bag is None:
        raise NotFound(f"No bag {bag_id}.")
    return bag


def bag_by_code(code: str) -> tuple[Bag | None, bool]:
    """The bag a scanned label code names and whether that label was voided (SPEC 4.6: the code
    of a replaced label is refused at every scan). An unreadable or unknown code gives
    (None, False)."""
    try:
        parse_bag_code(code)
    except ScanError:
        return None, False
    text = "".join(code.split()).upper()
    row = db.session.execute(
        sa.select(Bag, BagLabelIssue.voided_at)
        .join(BagLabelIssue, BagLabelIssue.bag_id == Bag.id)
        .where(BagLabelIssue.code == text)
    ).first()
    if row is None:
        return None, False
    return row[0], row[1] is not None


def effective_status(bag: Bag, now: datetime | None = None) -> str:
    """SPEC 4.7: `expired` once the clock passes the expiry, unless the bag is infusing or has
    left the path; computed when read, never written."""
    now = now or utcnow()
    if (bag.status not in NEVER_EXPIRED and bag.expires_at is not None
            and now >= bag.expires_at):
        return EXPIRED
    return bag.status


def effective_status_clause(status: str, now: datetime) -> sa.ColumnElement[bool]:
    """The SQL form of `effective_status(bag, now) == status`, for lists filtered by status."""
    expired = (
        Bag.status.not_in(sorted(NEVER_EXPIRED)) & Bag.expires_at.is_not(None)
        & (Bag.expires_at <= now)
    )
    if status == EXPIRED:
        return expired
    return (Bag.status == status) & sa.not_(expired)


def source_of(bag: Bag) -> BagSource | None:
    """UNBLINDED ONLY: what is in the bag."""
    return db.session.scalar(sa.select(BagSource).where(BagSource.bag_id == bag.id))


def is_cell_bag(bag: Bag) -> bool:
    """UNBLINDED ONLY."""
    source = source_of(bag)
    return source is not None and source.arm == "A"


@dataclass(frozen=True)
class BagRow:
    """One bag in a list, with what the API shows of it (arm and lot for unblinded readers)."""

    bag: Bag
    subject_id: str
    dose_number: int
    arm: str | None = None
    lot_id: str | None = None


def list_bags(
    *, unblinded: bool, subject_id: str | None = None, status: str | None = None,
    after: str | None = None, limit: int = 50, now: datetime | None = None,
) -> list[BagRow]:
    """Bags in bag id order (random, so the order carries no arm), keyset-paged after a bag id.

    One query whatever the page size: patient, dose and (for unblinded readers) the source and
    its lot are joined in.
    """
    now = now or utcnow()
    columns: list = [Bag, Patient.subject_id, Dose.dose_number]
    query = sa.select(*columns).join(Patient, Bag.patient_id == Patient.id).join(
        Dose, Bag.dose_id == Dose.id)
    if unblinded:
        source_lot = aliased(Lot)
        query = query.add_columns(BagSource.arm, source_lot.lot_id).outerjoin(
            BagSource, BagSource.bag_id == Bag.id).outerjoin(
            source_lot, BagSource.lot_id == source_lot.id)
    if subject_id:
        query = query.where(Patient.subject_id == subject_id)
    if status:
        query = query.where(effective_status_clause(status, now))
    if after:
        query = query.where(Bag.bag_id > after)
    query = query.order_by(Bag.bag_id).limit(limit)
    # The joined-eager relationships of Bag would add joins; this list needs none of them.
    query = query.options(lazyload(Bag.patient), lazyload(Bag.dose))
    rows = []
    for row in db.session.execute(query):
        if unblinded:
            rows.append(BagRow(row[0], row[1], row[2], row[3], row[4]))
        else:
            rows.append(BagRow(row[0], row[1], row[2]))
    return rows


def bag_row(bag: Bag, *, unblinded: bool) -> BagRow:
    if not unblinded:
        return BagRow(bag, bag.subject_id, bag.dose_number)
    source = source_of(bag)
    return BagRow(bag, bag.subject_id, bag.dose_number,
                  source.arm if source else None,
                  source.lot.lot_id if source and source.lot else None)


def bag_history(bag: Bag, *, blinded: bool) -> list[audit.AuditEntry]:
    """The audit entries about this bag a reader may see, oldest first."""
    query = sa.select(audit.AuditEntry).where(
        audit.AuditEntry.entity_type == "bag", audit.AuditEntry.entity_id == bag.bag_id)
    if blinded:
        query = query.where(audit.AuditEntry.blinded_visible.is_(True))
    return list(db.session.scalars(query.order_by(audit.AuditEntry.id)))


# --- the product hold register (UNBLINDED ONLY) -----------------------------------------------


def open_product_hold(bag: Bag) -> ProductHoldBag | None:
    """The product hold that holds this bag now, if one does."""
    return db.session.scalar(sa.select(ProductHoldBag).where(
        ProductHoldBag.bag_id == bag.id, ProductHoldBag.left_at.is_(None)))


def product_hold_in_force(hold: ProductHold) -> bool:
    """The real hold stands: its batch is still on hold (a lot hold), or one of the bags it
    holds for their content is still on hold. Until then its parity bags stay held."""
    if hold.kind == LOT_HOLD and hold.lot is not None and hold.lot.state == "on_hold":
        return True
    return db.session.scalar(sa.select(sa.exists().where(
        ProductHoldBag.hold_id == hold.id, ProductHoldBag.parity.is_(False),
        ProductHoldBag.left_at.is_(None)))) or False


def _parity_release(bag: Bag, to_state: str, by: User) -> bool:
    """SPEC 4.7 names QA for the way back from a hold. A parity hold is the pharmacist's
    blinding device (as arm-B postponements are, SPEC 4.5): the pharmacist may sign its
    release, once the real hold it matches has ended."""
    if PHARMACIST not in by.role_names or bag.status != ON_HOLD or to_state != bag.held_from:
        return False
    row = open_product_hold(bag)
    return row is not None and row.parity and not product_hold_in_force(row.hold)


def _leave_product_hold(bag: Bag, to_state: str, *, by: User, signature: Signature | None,
                        at: datetime) -> None:
    """Whoever moves a bag off hold closes its product hold row, so the register never says a
    bag is held when it is not."""
    row = open_product_hold(bag)
    if row is not None:
        row.left_at, row.left_to, row.left_by_id = at, to_state, by.id
        row.signature_id = getattr(signature, "id", None)


# --- the one place bag states change ----------------------------------------------------------


def check_transition(bag: Bag, to_state: str, *, by: User, reason: str | None = None,
                     at: datetime | None = None) -> None:
    """Every check of a move short of its signature, so a service can refuse before asking
    for a password. Messages never differ by arm."""
    at = at or utcnow()
    if to_state not in BAG_MACHINE.transitions:
        raise DomainError(f"'{to_state}' is not a bag state.")
    BAG_MACHINE.check(bag.status, to_state)
    if bag.status == ON_HOLD and to_state in BEFORE_INFUSING and to_state != bag.held_from:
        raise InvalidTransition(
            f"A held bag goes back to the state it was held from: bag {bag.bag_id} was "
            f"'{bag.held_from}', not '{to_state}'.")
    rule = BAG_RULES[(bag.status, to_state)]
    if not (by.role_names & rule.roles) and not _parity_release(bag, to_state, by):
        who = " or ".join(ROLE_WORDS[r] for r in sorted(rule.roles))
        raise NotPermitted(
            f"Only {who} may move a bag from '{bag.status}' to '{to_state}'.")
    if rule.needs_reason and not (reason or "").strip():
        raise DomainError(f"Give the reason the bag moves to '{to_state.replace('_', ' ')}'.",
                          field_errors={"reason": ["Required."]})
    if to_state in REFUSED_WHEN_EXPIRED and effective_status(bag, at) == EXPIRED:
        raise DomainError(f"Bag {bag.bag_id} expired at {bag.expires_at:%Y-%m-%d %H:%M} UTC: "
                          f"it cannot move to '{to_state}'.")
    if to_state == RELEASED:
        _check_releasable(bag, at)


def _check_releasable(bag: Bag, at: datetime) -> None:
    """SPEC 4.7: fill verified; for a cell bag its batch released (pharmacist-only message)."""
    if bag.fill_verified_at is None:
        raise DomainError(f"Bag {bag.bag_id}'s fill has not been verified by a pharmacist.")
    source = source_of(bag)
    if source is not None and source.lot is not None:
        lot = source.lot
        if lot.state != "released" or (lot.expires_at is not None and lot.expires_at <= at):
            raise DomainError(
                f"Product batch {lot.lot_id} is {lot.state.replace('_', ' ')}"
                f"{' and expired' if lot.expires_at and lot.expires_at <= at else ''}: "
                "a bag is released for issue only from a released, unexpired batch.")


def transition_bag(
    bag: Bag, to_state: str, *, by: User, reason: str | None = None,
    signature: Signature | None = None, details: dict | None = None,
    at: datetime | None = None,
) -> Bag:
    """Move a bag along the SPEC 4.7 table: checks the machine, the actor's role, the reason,
    expiry and the signature the move needs, then changes and audits in the caller's
    transaction. `details` adds blinded-safe facts to the audit entry."""
    at = at or utcnow()
    lock_for_update(db.session, bag)
    check_transition(bag, to_state, by=by, reason=reason, at=at)
    rule = BAG_RULES[(bag.status, to_state)]
    if rule.meaning is not None:
        if signature is None:
            raise NotPermitted(f"Moving a bag to '{to_state}' needs an electronic signature.")
        if signature is not None and (signature.meaning != rule.meaning
                                      or signature.user_id != by.id):
            raise NotPermitted("The signature does not match this move or this user.")
    old = bag.status
    if to_state == ON_HOLD:
        bag.held_from = old
    elif old == ON_HOLD:
        bag.held_from = None
        _leave_product_hold(bag, to_state, by=by, signature=signature, at=at)
    bag.status = to_state
    bag.status_changed_at = at
    hidden = to_state in _REASON_HIDDEN or old == ON_HOLD
    shown_reason = reason
    if hidden:
        shown_reason = None if to_state == "destroyed" else BLINDED_HOLD_REASON
    new = {"status": to_state, **(details or {})}
    if signature is not None:
        new["signature_id"] = signature.id
    audit.record(db.session, "bag.status_changed", bag, actor=by, old={"status": old}, new=new,
                 reason=shown_reason)
    if hidden:
        audit.record(db.session, "bag.status_reason", bag, actor=by, blinded_visible=False,
                     new={"status": to_state}, reason=reason)
    return bag
