"""Product holds and their placebo parity (SPEC 4.5, 4.7, 4.9).

A hold of cell bags for what is in them (QA holds or recalls their batch, a look-back) would
tell every blinded reader which bags hold cells, if only those bags stopped. So the one rule
here holds, in the same transaction, a matched set of saline bags of the same fill day (on the
same wards where it can), as many as there are cell bags beyond the saline bags the hold takes
for their own content. Every bag moves through `transition_bag`: the same actor, action, status,
blinded reason and number of hidden entries for a real and a parity bag, in bag id order, so
not even the order of the entries separates them. Which hold is real lives in `product_hold`
and `product_hold_bag`, read by unblinded roles only.

When QA ends the lot hold, its bags and as many parity bags go back together under one
signature. What is left (after a recall or a look-back, whose bags are destroyed, or past
expiry) waits for the pharmacist's signed disposition, refused while the real hold stands.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from ..auth.models import User
from ..core import audit, esign
from ..core.db import utcnow
from ..core.errors import Conflict, DomainError, NotPermitted
from ..core.locking import lock_for_update
from ..extensions import db
from ..manufacturing.models import Lot
from . import service
from .models import LOT_HOLD, RECALL, Bag, BagSource, FillSession, ProductHold, ProductHoldBag
from .states import BEFORE_INFUSING, DESTROYED, ON_HOLD, REFUSED_WHEN_EXPIRED

RELEASE, DESTROY = "release", "destroy"
DISPOSITIONS = (RELEASE, DESTROY)


def _require_unblinded(by: User, permission: str) -> None:
    if by.is_blinded or not by.can(permission):
        raise NotPermitted(_("Product holds are for QA and the pharmacist only."))


# --- putting bags on hold ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Placed:
    """Where a bag is, as the matching reads it: its arm, fill day and ward."""

    arm: str | None
    day: date
    ward: str | None


def _placed(bags: Iterable[Bag]) -> dict[int, _Placed]:
    ids = [bag.id for bag in bags]
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Bag.id, BagSource.arm, FillSession.day, Bag.destination_ward)
        .join(FillSession, FillSession.id == Bag.fill_session_id)
        .outerjoin(BagSource, BagSource.bag_id == Bag.id)
        .where(Bag.id.in_(ids)))
    return {row.id: _Placed(row.arm, row.day, row.destination_ward) for row in rows}


def _still_holdable(bag: Bag) -> bool:
    """Re-read under a row lock: a bag that started its infusion, left the path or went on
    hold since it was chosen is left alone."""
    lock_for_update(db.session, bag)
    return bag.status in BEFORE_INFUSING and service.open_product_hold(bag) is None


def _saline_candidates(day: date, exclude: set[int]) -> list[Bag]:
    """Saline bags of that fill day not yet infusing, infused, returned, destroyed or held,
    in bag id order (random: the choice carries no other order)."""
    query = (
        sa.select(Bag).join(BagSource, BagSource.bag_id == Bag.id)
        .join(FillSession, FillSession.id == Bag.fill_session_id)
        .where(BagSource.arm == "B", FillSession.day == day,
               Bag.status.in_(BEFORE_INFUSING),
               ~sa.exists().where(ProductHoldBag.bag_id == Bag.id,
                                  ProductHoldBag.left_at.is_(None)))
        .order_by(Bag.bag_id))
    if exclude:
        query = query.where(Bag.id.not_in(sorted(exclude)))
    return list(db.session.scalars(query))


def _parity_bags(real: list[Bag], placed: dict[int, _Placed]) -> list[Bag]:
    """Per fill day, one saline bag for each cell bag the hold takes beyond its own saline
    bags: first on the wards those cell bags are on, then anywhere that day."""
    chosen: list[Bag] = []
    days = sorted({placed[bag.id].day for bag in real})
    real_ids = {bag.id for bag in real}
    for day in days:
        cells = [placed[b.id] for b in real if placed[b.id].day == day and placed[b.id].arm == "A"]
        salines = [placed[b.id] for b in real
                   if placed[b.id].day == day and placed[b.id].arm == "B"]
        need = len(cells) - len(salines)
        if need <= 0:
            continue
        wards = Counter(p.ward for p in cells)
        wards.subtract(p.ward for p in salines)
        candidates = _saline_candidates(day, real_ids)
        picked: list[Bag] = []
        for same_ward in (True, False):
            for bag in candidates:
                if len(picked) == need:
                    break
                if bag in picked or (same_ward and wards[bag.destination_ward] <= 0):
                    continue
                if _still_holdable(bag):
                    picked.append(bag)
                    wards[bag.destination_ward] -= 1
        chosen += picked
    return chosen


def hold_bags(bags: Iterable[Bag], *, kind: str, reference: str, cause: str, by: User,
              lot: Lot | None = None, signature: esign.Signature | None = None,
              at: datetime | None = None) -> ProductHold | None:
    """Put `bags` on hold for their content, with their parity bags, in the caller's
    transaction. `cause` is the true reason, kept where blinded readers never look; None
    when no bag was left to hold."""
    at = at or utcnow()
    real = sorted({bag.id: bag for bag in bags if _still_holdable(bag)}.values(),
                  key=lambda b: b.bag_id)
    if not real:
        return None
    hold = ProductHold(kind=kind, lot_id=getattr(lot, "id", None), reference=reference,
                       reason=cause, opened_at=at, opened_by_id=by.id,
                       signature_id=getattr(signature, "id", None))
    db.session.add(hold)
    db.session.flush()
    parity = _parity_bags(real, _placed(real))
    reasons = {bag.id: cause for bag in real}
    reasons |= {bag.id: f"Parity hold {hold.number} for: {cause}" for bag in parity}
    for bag in real + parity:
        db.session.add(ProductHoldBag(hold=hold, bag=bag, parity=bag in parity,
                                      held_from=bag.status))
    for bag in sorted(real + parity, key=lambda b: b.bag_id):
        service.transition_bag(bag, ON_HOLD, by=by, reason=reasons[bag.id], at=at)
    audit.record(db.session, "product_hold.opened", hold, actor=by, blinded_visible=False,
                 reason=cause, new={
                     "kind": kind, "reference": reference, "lot": getattr(lot, "lot_id", None),
                     "bags": [b.bag_id for b in real],
                     "parity_bags": sorted(b.bag_id for b in parity),
                     "signature_id": getattr(signature, "id", None)})
    return hold


def _uninfused_bags_of(lot: Lot) -> list[Bag]:
    return list(db.session.scalars(
        sa.select(Bag).join(BagSource, BagSource.bag_id == Bag.id)
        .where(BagSource.lot_id == lot.id, Bag.status.in_(BEFORE_INFUSING))
        .order_by(Bag.bag_id)))


def hold_lot_bags(lot: Lot, *, kind: str, by: User, reason: str,
                  signature: esign.Signature | None = None) -> ProductHold | None:
    """SPEC 4.7: the un-infused bags of a batch QA holds or recalls go on hold themselves, so
    a cell bag and its parity twin read the same everywhere (the bedside's check of the
    batch stays as a second guard)."""
    cause = (f"Lot {lot.lot_id} recalled: {reason}" if kind == RECALL
             else f"Lot {lot.lot_id} on hold: {reason}")
    return hold_bags(_uninfused_bags_of(lot), kind=kind, reference=lot.lot_id, cause=cause,
                     by=by, lot=lot, signature=signature)


def hold_again_for_content(bags: Iterable[Bag], *, by: User) -> list[ProductHold]:
    """Bags that just left another hold (an excursion) while their batch is still held or
    recalled go straight back on hold for it, with their parity bags: a cell bag that came
    back to the ward alone, NO-GO at the bedside while its saline twin was GO, would tell the
    arm."""
    ids = [bag.id for bag in bags]
    if not ids:
        return []
    held_lots = (sa.select(BagSource.lot_id).where(BagSource.bag_id.in_(ids))
                 .scalar_subquery())
    lots = db.session.scalars(
        sa.select(Lot).where(Lot.id.in_(held_lots), Lot.state.in_(("on_hold", "recalled")))
        .order_by(Lot.lot_id)).all()
    opened = []
    for lot in lots:
        kind = RECALL if lot.state == "recalled" else LOT_HOLD
        hold = hold_lot_bags(lot, kind=kind, by=by,
                             reason="its bags came off another hold while the lot stays held")
        if hold is not None:
            opened.append(hold)
    return opened


# --- the end of a hold ------------------------------------------------------------------------


def _can_go_back(bag: Bag, at: datetime) -> bool:
    """A bag past its expiry does not go back to a state it could not move to (SPEC 4.7):
    it stays held for the pharmacist to destroy."""
    return bag.held_from is not None and not (
        bag.held_from in REFUSED_WHEN_EXPIRED
        and service.effective_status(bag, at) == service.EXPIRED)


def _open_rows(hold_ids: list[int]) -> list[ProductHoldBag]:
    if not hold_ids:
        return []
    return list(db.session.scalars(
        sa.select(ProductHoldBag).join(Bag, Bag.id == ProductHoldBag.bag_id)
        .where(ProductHoldBag.hold_id.in_(hold_ids), ProductHoldBag.left_at.is_(None))
        .order_by(Bag.bag_id)))


def end_lot_hold(lot: Lot, *, by: User, username: str, password: str, reason: str,
                 at: datetime | None = None) -> list[Bag]:
    """QA ended the hold of `lot`: its held bags go back to the state they left and, in the
    same action under one signature ("bag_hold_disposition", SPEC 4.7), as many of their
    parity bags. Parity bags beyond that (their cell bags were destroyed or expired) wait
    for the pharmacist's disposition."""
    at = at or utcnow()
    holds = db.session.scalars(sa.select(ProductHold.id).where(
        ProductHold.kind == LOT_HOLD, ProductHold.lot_id == lot.id)).all()
    rows = _open_rows(list(holds))
    real = [r for r in rows if not r.parity and _can_go_back(r.bag, at)]
    parity = [r for r in rows if r.parity and _can_go_back(r.bag, at)][:len(real)]
    back = sorted(real + parity, key=lambda r: r.bag.bag_id)
    if not back:
        return []
    signature = esign.sign(
        db.session, username=username, password=password, meaning="bag_hold_disposition",
        entity=("lot", lot.lot_id), signer_must_be=by, blinded_visible=False,
        content={"lot": lot.lot_id, "reason": reason,
                 "bags": [r.bag.bag_id for r in back]})
    for row in back:
        cause = (f"Parity hold {row.hold.number} ended with the hold of lot {lot.lot_id}: "
                 f"{reason}" if row.parity else f"Hold of lot {lot.lot_id} ended: {reason}")
        service.transition_bag(row.bag, row.bag.held_from, by=by, signature=signature,
                               reason=cause, at=at)
    return [row.bag for row in back]


# --- the pharmacist's disposition -------------------------------------------------------------


def dispose(bag: Bag, *, decision: str, by: User, password: str, reason: str,
            at: datetime | None = None) -> Bag:
    """The pharmacist's signed disposition of a bag a product hold holds: destroyed (with
    reason, SPEC 4.7), or, for a parity bag once the real hold has ended, back to the state it
    left. Real and parity bags are signed the same way, so their entries read the same."""
    _require_unblinded(by, "bag.destroy")
    if decision not in DISPOSITIONS:
        raise DomainError(_("The disposition is release or destroy."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for the disposition."),
                          field_errors={"reason": [_("Required.")]})
    at = at or utcnow()
    lock_for_update(db.session, bag)
    row = service.open_product_hold(bag)
    if row is None:
        raise DomainError(_("Bag %(bag)s is not held by a product hold.", bag=bag.bag_id))
    hold = row.hold
    if row.parity and service.product_hold_in_force(hold):
        raise Conflict(_("%(hold)s (%(ref)s) still stands: its parity bags are dispositioned "
                         "once it has ended.", hold=hold.number, ref=hold.reference))
    if decision == RELEASE and not row.parity:
        raise NotPermitted(_("Bag %(bag)s is held for its content: it goes back into use "
                             "only when QA ends the hold of its batch.", bag=bag.bag_id))
    target = bag.held_from if decision == RELEASE else DESTROYED
    service.check_transition(bag, target, by=by, reason=reason, at=at)
    signature = esign.sign(
        db.session, username=by.username, password=password, meaning="bag_hold_disposition",
        entity=("bag", bag.bag_id), signer_must_be=by, blinded_visible=False,
        content={"bag": bag.bag_id, "hold": hold.number, "decision": decision,
                 "reason": reason})
    kind = "parity " if row.parity else ""
    return service.transition_bag(
        bag, target, by=by, signature=signature, at=at,
        reason=f"{hold.number} {kind}disposition ({decision}): {reason}")


# --- reading (unblinded) ----------------------------------------------------------------------


@dataclass
class HeldBag:
    row: ProductHoldBag
    arm: str | None
    day: date

    @property
    def bag(self) -> Bag:
        return self.row.bag


@dataclass
class HoldView:
    hold: ProductHold
    in_force: bool
    bags: list[HeldBag] = field(default_factory=list)

    @property
    def waiting(self) -> list[HeldBag]:
        """Parity bags whose real hold has ended: they wait for the pharmacist."""
        return [] if self.in_force else [b for b in self.bags if b.row.parity]


def open_holds(*, by: User, limit: int = 100) -> list[HoldView]:
    """Product holds that still hold a bag, newest first, with their bags (arm shown)."""
    _require_unblinded(by, "bag.hold")
    holds = list(db.session.scalars(
        sa.select(ProductHold).where(sa.exists().where(
            ProductHoldBag.hold_id == ProductHold.id, ProductHoldBag.left_at.is_(None)))
        .order_by(ProductHold.id.desc()).limit(limit)))
    rows = _open_rows([h.id for h in holds])
    placed = _placed(row.bag for row in rows)
    views = {h.id: HoldView(h, service.product_hold_in_force(h)) for h in holds}
    for row in rows:
        where = placed[row.bag_id]
        views[row.hold_id].bags.append(HeldBag(row, where.arm, where.day))
    return list(views.values())


def parity_bags_of(kind: str, reference: str, *, by: User) -> list[ProductHoldBag]:
    """The parity bags a hold of this cause took (open or not), for the cause's own page."""
    _require_unblinded(by, "bag.hold")
    return list(db.session.scalars(
        sa.select(ProductHoldBag).join(ProductHold, ProductHold.id == ProductHoldBag.hold_id)
        .where(ProductHold.kind == kind, ProductHold.reference == reference,
               ProductHoldBag.parity.is_(True))
        .order_by(ProductHoldBag.id)))
