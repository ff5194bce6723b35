"""What can be done to a lot now (SPEC 4.2, 4.3): one rule per action. The services enforce it
and the lot and release pages read it, so that a page offers no form the service would refuse
for the lot's state."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask_babel import gettext as _

from ..core.db import utcnow
from ..core.errors import Conflict
from ..extensions import db
from ..protocol import service as protocol
from ..qc.models import Deviation
from .models import CELL_BANK, PRODUCT_BATCH, Lot
from .service import is_expired, transition_refusal

# The manufacturing steps of the lot page, in the order they come.
STEPS = ("processing", "passage", "bank", "harvest", "submit_qc", "start_batch")
QC_ACTIONS = ("qc_result", "release", "reject", "hold", "end_hold", "recall")
ACTIONS = STEPS + QC_ACTIONS
# The steps a growth deviation stops until QA closes it for use.
STOPPED_STEPS = frozenset({"passage", "bank", "harvest", "submit_qc"})
# The steps a page proposes next, by kind of lot and state.
NEXT_STEPS = {
    (CELL_BANK, "received"): ("processing",),
    (CELL_BANK, "processing"): ("passage",),
    (CELL_BANK, "expanding"): ("passage", "bank"),
    (CELL_BANK, "banked"): ("submit_qc",),
    (CELL_BANK, "released"): ("start_batch",),
    (PRODUCT_BATCH, "thawed"): ("passage",),
    (PRODUCT_BATCH, "expanding"): ("passage", "harvest"),
    (PRODUCT_BATCH, "harvested"): ("submit_qc",),
}


def next_passage_number(lot: Lot) -> int:
    if lot.passages:
        return lot.passages[-1].number + 1
    if lot.kind == PRODUCT_BATCH and lot.parent is not None and lot.parent.passages:
        return lot.parent.passages[-1].number + 1
    return 0


def passage_limit(lot: Lot) -> int:
    """The highest passage this lot may reach: the banking passage in a bank, the protocol's
    maximum in a batch (SPEC 4.2: P0-P2 in the bank, P3-P5 in the batch)."""
    if lot.kind == CELL_BANK:
        return int(protocol.value("banking_passage"))
    return int(protocol.value("max_passage"))


def stop_of(lot: Lot) -> str | None:
    """SPEC 4.2: a passage whose growth no cell can reach stops its lot; no step follows until
    QA closes the deviation with the disposition that the lot may be used."""
    if lot.id is None:
        return None
    deviation = db.session.scalar(
        sa.select(Deviation)
        .where(Deviation.lot_id == lot.id, Deviation.passage_id.is_not(None),
               sa.or_(Deviation.state == "open", Deviation.disposition == "reject"))
        .order_by(Deviation.id).limit(1))
    if deviation is None:
        return None
    if deviation.state == "open":
        return _("Lot %(lot)s is stopped: deviation %(number)s is open (%(title)s). No step "
                 "is recorded until QA closes it.", lot=lot.lot_id, number=deviation.number,
                 title=deviation.title)
    return _("Lot %(lot)s must not be used: deviation %(number)s was closed with that "
             "disposition.", lot=lot.lot_id, number=deviation.number)


def _state_words(lot: Lot) -> str:
    return lot.state.replace("_", " ")


def _unverified(lot: Lot) -> str | None:
    unverified = [p.label for p in lot.passages if p.verifier_id is None]
    if unverified:
        return _("Passage %(passages)s of lot %(lot)s is not verified by a second person yet.",
                 passages=", ".join(unverified), lot=lot.lot_id)
    return None


def _processing(lot: Lot) -> str | None:
    if lot.kind != CELL_BANK:
        return _("Only a cell bank lot is processed from cord tissue.")
    return transition_refusal(lot, "processing")


def _passage(lot: Lot) -> str | None:
    growing = ("processing", "expanding") if lot.kind == CELL_BANK else ("expanding", "thawed")
    if lot.state not in growing:
        return _("Passages are recorded while a lot is %(states)s; lot %(lot)s is %(state)s.",
                 states=" or ".join(sorted(growing)), lot=lot.lot_id, state=_state_words(lot))
    expected, limit = next_passage_number(lot), passage_limit(lot)
    if expected > limit:
        if lot.kind == CELL_BANK:
            return _("P%(n)s is refused: the banking passage is P%(limit)s.", n=expected,
                     limit=limit)
        return _("P%(n)s is refused: the protocol's maximum is P%(limit)s.", n=expected,
                 limit=limit)
    return None


def _bank(lot: Lot) -> str | None:
    if lot.kind != CELL_BANK:
        return _("Only a cell bank lot is cryopreserved in vials.")
    refused = transition_refusal(lot, "banked")
    if refused:
        return refused
    banking = passage_limit(lot)
    last = lot.passages[-1].number if lot.passages else None
    if last != banking:
        shown = _("no passage") if last is None else f"P{last}"
        return _("Lot %(lot)s is banked at P%(banking)s; it has reached %(shown)s.",
                 lot=lot.lot_id, banking=banking, shown=shown)
    return _unverified(lot)


def _harvest(lot: Lot) -> str | None:
    if lot.kind != PRODUCT_BATCH:
        return _("Only a product batch is harvested for infusion.")
    refused = transition_refusal(lot, "harvested")
    if refused:
        return refused
    if not lot.passages:
        return _("Lot %(lot)s has no passage yet.", lot=lot.lot_id)
    return _unverified(lot)


def _submit_qc(lot: Lot) -> str | None:
    return transition_refusal(lot, "qc_pending")


def _start_batch(lot: Lot) -> str | None:
    if lot.kind != CELL_BANK:
        return _("Lot %(lot)s is not a cell bank lot.", lot=lot.lot_id)
    if lot.state != "released":
        return _("Cell bank lot %(lot)s is %(state)s: a batch starts only from a released "
                 "bank.", lot=lot.lot_id, state=_state_words(lot))
    if is_expired(lot, utcnow()):
        return _("Cell bank lot %(lot)s is past its stability date (%(date)s).",
                 lot=lot.lot_id, date=f"{lot.expires_at:%Y-%m-%d}")
    if not any(v.status == "stored" for v in lot.vials):
        return _("Cell bank lot %(lot)s has no stored vial left.", lot=lot.lot_id)
    return None


def _qc_result(lot: Lot) -> str | None:
    if lot.state in {"received", "destroyed"}:
        return _("Lot %(lot)s is %(state)s: no QC sample is taken now.", lot=lot.lot_id,
                 state=_state_words(lot))
    return None


def _release(lot: Lot) -> str | None:
    if lot.state != "qc_pending":
        return _("Lot %(lot)s is %(state)s: only a lot pending QC is released.",
                 lot=lot.lot_id, state=_state_words(lot))
    return None


def _end_hold(lot: Lot) -> str | None:
    if lot.state != "on_hold":
        return _("Lot %(lot)s is not on hold.", lot=lot.lot_id)
    return transition_refusal(lot, lot.held_from or "")


RULES: dict[str, Callable[[Lot], str | None]] = {
    "processing": _processing, "passage": _passage, "bank": _bank, "harvest": _harvest,
    "submit_qc": _submit_qc, "start_batch": _start_batch, "qc_result": _qc_result,
    "release": _release, "reject": lambda lot: transition_refusal(lot, "rejected"),
    "hold": lambda lot: transition_refusal(lot, "on_hold"), "end_hold": _end_hold,
    "recall": lambda lot: transition_refusal(lot, "recalled"),
}


def refusal(lot: Lot, action: str) -> str | None:
    """Why `action` is refused on the lot now, in plain words; None when it is allowed."""
    refused = RULES[action](lot)
    if refused is None and action in STOPPED_STEPS:
        refused = stop_of(lot)
    return refused


def require(lot: Lot, action: str) -> None:
    """The service's side of the rule: refuse the action in the words the page would show."""
    refused = refusal(lot, action)
    if refused:
        raise Conflict(refused)


def allowed_actions(lot: Lot) -> frozenset[str]:
    """The actions a page may offer on the lot now (permissions are the page's to check)."""
    stopped = stop_of(lot) is not None
    return frozenset(action for action in ACTIONS if RULES[action](lot) is None
                     and not (stopped and action in STOPPED_STEPS))


def step_hints(lot: Lot, allowed: frozenset[str] | None = None) -> list[str]:
    """Why none of the steps that come next in the lot's state can be recorded now (empty when
    one can, or when none comes next)."""
    allowed = allowed_actions(lot) if allowed is None else allowed
    steps = NEXT_STEPS.get((lot.kind, lot.state), ())
    if any(step in allowed for step in steps):
        return []
    hints = [refusal(lot, step) for step in steps]
    return list(dict.fromkeys(h for h in hints if h))
