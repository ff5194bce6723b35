"""Lots: reads, the one transition function, and what bagging asks of a batch (SPEC 4.2)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.attributes import set_committed_value

from ..auth.models import User
from ..core import audit
from ..core.db import utcnow
from ..core.errors import Conflict, DomainError, InvalidTransition, NotFound, NotPermitted
from ..core.esign import Signature
from ..core.isbt128 import ProductCode
from ..core.locking import lock_for_update
from ..extensions import db
from .models import CELL_BANK, PRODUCT_BATCH, Lot, LotTransition, MaterialUse, Passage, Vial
from .states import QA_TARGETS, SYSTEM_TARGETS, machine_for

# SPEC 3: the product description codes in use, a configurable table (app config
# `PRODUCT_CODES` overrides it): kind -> (description code, collection type, wording).
PRODUCT_CODES = {
    CELL_BANK: ("S1001", "V", "UC-MSC cell bank, cryopreserved"),
    PRODUCT_BATCH: ("S1002", "V", "UC-MSC, fresh, for infusion"),
}
PAGE_SIZE = 50


def product_codes() -> dict:
    configured = current_app.config.get("PRODUCT_CODES") if has_app_context() else None
    return configured or PRODUCT_CODES


def product_code(kind: str, division: str = "00") -> ProductCode:
    description, collection_type, _ = product_codes()[kind]
    return ProductCode(description, collection_type, division)


def product_description(kind: str) -> str:
    return product_codes()[kind][2]


# --- Reads --------------------------------------------------------------------------------------


def get_lot(lot_id: str) -> Lot:
    lot = db.session.scalar(sa.select(Lot).where(Lot.lot_id == lot_id.strip().upper()))
    if lot is None:
        raise NotFound(f"No lot {lot_id}.")
    return lot


def lots_for_din(din: str) -> list[Lot]:
    """Every lot made from one donation: its cell bank first, then its batches (scan box)."""
    text = "".join(din.split()).upper()
    if len(text) != 13:
        from ..donors.service import parse_collection_din

        text = parse_collection_din(din)[0]
    return list(db.session.scalars(
        sa.select(Lot).where(Lot.din == text).order_by(Lot.kind, Lot.id)))


def list_lots(*, kind: str | None = None, state: str | None = None, after_id: int = 0,
              limit: int = PAGE_SIZE) -> list[Lot]:
    query = sa.select(Lot).where(Lot.id > after_id).order_by(Lot.id).limit(limit)
    if kind:
        query = query.where(Lot.kind == kind)
    if state:
        query = query.where(Lot.state == state)
    return list(db.session.scalars(query))


def batches_of(bank: Lot) -> list[Lot]:
    return list(db.session.scalars(sa.select(Lot).where(Lot.parent_id == bank.id)
                                   .order_by(Lot.id)))


def transitions_of(lot: Lot) -> list[LotTransition]:
    return list(db.session.scalars(sa.select(LotTransition).where(LotTransition.lot_id == lot.id)
                                   .order_by(LotTransition.id)))


def material_uses(lot: Lot) -> list[MaterialUse]:
    return list(db.session.scalars(sa.select(MaterialUse).where(MaterialUse.lot_id == lot.id)
                                   .order_by(MaterialUse.id)))


def stored_vials(bank: Lot) -> list[Vial]:
    return [v for v in bank.vials if v.status == "stored"]


def manufacturing_user_ids(lot: Lot) -> set[int]:
    """Everyone who recorded a manufacturing step of this lot (SPEC 2: none of them releases)."""
    return manufacturing_user_ids_many([lot])[lot.id]


def manufacturing_user_ids_many(lots: Sequence[Lot]) -> dict[int, set[int]]:
    """`manufacturing_user_ids` of many lots, keyed by `Lot.id`: one query per kind of step
    (processing, material use, state change), however many lots there are."""
    from .models import ProcessingStep

    ids: dict[int, set[int]] = {lot.id: {lot.started_by_id} for lot in lots}
    if not ids:
        return ids
    for lot in lots:
        ids[lot.id] |= {p.operator_id for p in lot.passages}
        ids[lot.id] |= {p.verifier_id for p in lot.passages if p.verifier_id}
    for lot_id, user_id in db.session.execute(
            sa.select(ProcessingStep.lot_id, ProcessingStep.operator_id)
            .where(ProcessingStep.lot_id.in_(ids))):
        ids[lot_id].add(user_id)
    for lot_id, user_id in db.session.execute(
            sa.select(MaterialUse.lot_id, MaterialUse.used_by_id)
            .where(MaterialUse.lot_id.in_(ids))):
        ids[lot_id].add(user_id)
    for t in db.session.scalars(sa.select(LotTransition).where(LotTransition.lot_id.in_(ids))):
        if t.by_id and t.to_state not in QA_TARGETS | SYSTEM_TARGETS \
                and t.from_state != "on_hold":
            ids[t.lot_id].add(t.by_id)
    return ids


def load_parents(lots: Sequence[Lot]) -> None:
    """Give every lot its cell bank lot (`lot.parent`) with one query for the whole list, so
    reading `lot.parent` in a loop runs no query per lot."""
    parent_ids = {lot.parent_id for lot in lots if lot.parent_id is not None}
    if not parent_ids:
        return
    parents = {p.id: p for p in db.session.scalars(
        sa.select(Lot).where(Lot.id.in_(parent_ids)).options(lazyload(Lot.passages)))}
    for lot in lots:
        if lot.parent_id in parents and "parent" not in sa.inspect(lot).dict:
            set_committed_value(lot, "parent", parents[lot.parent_id])


def release_signatures(lots: Sequence[Lot]) -> dict[int, Signature]:
    """The release signature of each released lot, keyed by `Lot.id`, with one query."""
    ids = {lot.release_signature_id for lot in lots if lot.release_signature_id}
    if not ids:
        return {}
    signatures = {s.id: s for s in db.session.scalars(
        sa.select(Signature).where(Signature.id.in_(ids)))}
    return {lot.id: signatures[lot.release_signature_id] for lot in lots
            if lot.release_signature_id in signatures}


def is_expired(lot: Lot, at: datetime) -> bool:
    return lot.expires_at is not None and lot.expires_at <= at


# --- The one place lot states change ------------------------------------------------------------


def _check_actor(lot: Lot, to_state: str, by: User | None) -> None:
    if to_state in SYSTEM_TARGETS:
        return
    if by is None:
        raise NotPermitted("A person must record this change.")
    if to_state in QA_TARGETS or lot.state == "on_hold":
        if not by.can("lot.hold"):
            raise NotPermitted(f"Only QA may move a lot to '{to_state}'.")
    elif to_state == "destroyed":
        if not (by.can("lot.record") or by.can("lot.hold")):
            raise NotPermitted("Your role does not allow destroying a lot.")
    elif not by.can("lot.record"):
        raise NotPermitted("Only a technician records manufacturing steps.")


def _check_hold_exit(lot: Lot, to_state: str) -> None:
    if lot.state != "on_hold" or to_state in {"destroyed"}:
        return
    held_from = lot.held_from or ""
    if to_state in {"recalled", "expired"} and held_from != "released":
        raise InvalidTransition(
            f"Lot {lot.lot_id} was held before release ('{held_from}'): it cannot be {to_state}.")
    if to_state == "rejected" and held_from == "released":
        raise InvalidTransition(f"Lot {lot.lot_id} was released before its hold: recall it "
                                "rather than reject it.")
    if to_state not in {"recalled", "expired", "rejected"} and to_state != held_from:
        raise InvalidTransition(
            f"A held lot goes back to the state it was held from: lot {lot.lot_id} was "
            f"'{held_from}', not '{to_state}'.")


def transition_refusal(lot: Lot, to_state: str) -> str | None:
    """Why the lot's state machine refuses `to_state` now, or None: the rule `transition`
    enforces, for pages that offer only the moves that will be accepted."""
    try:
        machine_for(lot.kind).check(lot.state, to_state)
        _check_hold_exit(lot, to_state)
    except InvalidTransition as refused:
        return refused.message
    return None


def transition(lot: Lot, to_state: str, *, by: User | None, reason: str | None = None,
               signature: Signature | None = None, at: datetime | None = None) -> Lot:
    """Check the lot's state machine and the actor, change the state, record and audit it."""
    lock_for_update(db.session, lot)
    machine = machine_for(lot.kind)
    machine.check(lot.state, to_state)
    _check_hold_exit(lot, to_state)
    _check_actor(lot, to_state, by)
    if to_state in {"on_hold", "destroyed", "rejected", "recalled"} and not (reason or "").strip():
        raise DomainError(f"Give the reason the lot is {to_state.replace('_', ' ')}.")
    old = lot.state
    lot.held_from = old if to_state == "on_hold" else (
        lot.held_from if old != "on_hold" else None)
    lot.state = to_state
    db.session.add(LotTransition(lot_id=lot.id, from_state=old, to_state=to_state,
                                 at=at or utcnow(), by_id=getattr(by, "id", None), reason=reason,
                                 signature_id=getattr(signature, "id", None)))
    audit.record(db.session, "lot.state_changed", lot, actor=by, old={"state": old},
                 new={"state": to_state}, reason=reason)
    return lot


def expire_due_lots(at: datetime | None = None) -> list[Lot]:
    """SPEC 4.2: released lots pass to `expired` at their expiry (a batch at harvest + shelf
    life, a bank at its stability date)."""
    at = at or utcnow()
    due = db.session.scalars(sa.select(Lot).where(
        Lot.state == "released", Lot.expires_at.is_not(None), Lot.expires_at <= at)).all()
    for lot in due:
        transition(lot, "expired", by=None, reason="expiry date passed", at=at)
    return list(due)


# --- What bagging asks of a product batch (contract) --------------------------------------------


def usable_batches(at: datetime) -> list[Lot]:
    """Released, unexpired, not on hold product batches, the soonest to expire first."""
    return list(db.session.scalars(
        sa.select(Lot).where(Lot.kind == PRODUCT_BATCH, Lot.state == "released",
                             Lot.expires_at > at).order_by(Lot.expires_at, Lot.id)))


def check_usable_for_fill(lot: Lot, *, at: datetime, cells_needed: float) -> None:
    name = f"Lot {lot.lot_id}"
    if lot.kind != PRODUCT_BATCH:
        raise DomainError(f"{name} is a cell bank lot; bags are filled from product batches.")
    if lot.state == "on_hold":
        raise DomainError(f"{name} is on hold.")
    if lot.state != "released":
        raise DomainError(f"{name} is {lot.state.replace('_', ' ')}, not released.")
    if is_expired(lot, at):
        raise DomainError(f"{name} expired at {lot.expires_at:%Y-%m-%d %H:%M} UTC.")
    if cells_needed > lot.cells_left:
        raise DomainError(f"{name} has {lot.cells_left:.3g} cells left; "
                          f"{cells_needed:.3g} are needed.")


def allocate_cells(lot: Lot, cells: float, *, by: User, reference: str) -> None:
    """Take cells from a batch for a bag; audited where blinded users never read it."""
    if cells <= 0:
        raise DomainError("The number of cells to allocate must be positive.")
    check_usable_for_fill(lot, at=utcnow(), cells_needed=cells)
    # Row lock on PostgreSQL so two fills cannot both take the last cells.
    db.session.execute(sa.select(Lot.id).where(Lot.id == lot.id).with_for_update())
    db.session.refresh(lot, ["cells_allocated"])
    if cells > lot.cells_left:
        raise Conflict(f"Lot {lot.lot_id} has {lot.cells_left:.3g} cells left.")
    old = lot.cells_allocated
    lot.cells_allocated = old + cells
    audit.record(db.session, "lot.cells_allocated", lot, actor=by, blinded_visible=False,
                 old={"cells_allocated": old},
                 new={"cells_allocated": lot.cells_allocated, "reference": reference})


def passage_at(lot: Lot, number: int) -> Passage | None:
    return next((p for p in lot.passages if p.number == number), None)
