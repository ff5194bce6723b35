"""GMP plausibility of manufacturing records (SPEC 4.2): the places a step names, the order and
dates of steps, the mass balance of cells and realistic growth.

Each check refuses in plain words, except growth: a doubling time outside the protocol's
plausible range is a warning that needs a reason, and growth no cell can reach is recorded as
counted but opens a deviation (`actions.stop_of` then stops the lot until QA closes it).
Locations are the site's places, registered in custody (SPEC 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from math import log2

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..core.clock import format_local
from ..core.db import utcnow
from ..core.errors import DomainError
from ..core.ids import ScanError, parse_location_code
from ..custody.service import location_by_code
from ..extensions import db
from ..protocol import service as protocol
from .models import CELL_BANK, PRODUCT_BATCH, Lot, ProcessingStep, Vial

# A clock a few minutes ahead of the server's is not a record of the future.
FUTURE_GRACE = timedelta(minutes=5)
INCUBATOR_KINDS = frozenset({"incubator"})
# Custody knows no freezer kind: the cryopreserved vials of a bank live in dewars.
VIAL_STORAGE_KINDS = frozenset({"dewar"})
KIND_WORDS = {
    "incubator": _l("an incubator"), "fridge": _l("a fridge"), "dewar": _l("a dewar"),
    "ward": _l("a ward"), "courier_box": _l("a courier box"), "pharmacy": _l("a pharmacy"),
    "cleanroom": _l("a cleanroom"),
}


def cells(count: float) -> str:
    """A cell count as the lot page shows it."""
    return f"{count:.3g}"


# --- Places -------------------------------------------------------------------------------------


def incubator(code: str) -> str:
    """The location code of a passage's incubator: a registered location of kind incubator."""
    location = _registered(code, _("Incubator"))
    if location.kind not in INCUBATOR_KINDS:
        raise DomainError(_("%(code)s (%(name)s) is %(kind)s: a passage grows in an "
                            "incubator.", code=location.code, name=location.name,
                            kind=KIND_WORDS.get(location.kind, location.kind)),
                          field_errors={"incubator": [_("Not an incubator.")]})
    return location.code


def vial_store(code: str) -> str:
    """The location code of a vial's dewar (a position is `<location>/<box>/<slot>`)."""
    location = _registered(code.split("/", 1)[0], _("Dewar"))
    if location.kind not in VIAL_STORAGE_KINDS:
        raise DomainError(_("%(code)s (%(name)s) is %(kind)s: vials are stored in a dewar.",
                            code=location.code, name=location.name,
                            kind=KIND_WORDS.get(location.kind, location.kind)),
                          field_errors={"dewar": [_("Not a dewar.")]})
    return location.code


def _registered(code: str, what: str):
    try:
        text = parse_location_code(code)
    except ScanError as bad:
        raise DomainError(f"{what}: {bad}") from None
    location = location_by_code(text)
    if location is None:
        raise DomainError(_("%(what)s: no location has the code %(code)s.", what=what,
                            code=text))
    return location


# --- Dates --------------------------------------------------------------------------------------


def not_in_future(at: datetime, message: str) -> None:
    if at > utcnow() + FUTURE_GRACE:
        raise DomainError(message)


def lot_start(lot: Lot) -> datetime:
    """When the lot's cells first existed as this lot: a batch at its thaw, a bank at its start
    or, when later, the processing of its cord."""
    start = lot.started_at
    if lot.kind == CELL_BANK and lot.id is not None:
        processed = db.session.scalar(sa.select(sa.func.max(ProcessingStep.performed_at))
                                      .where(ProcessingStep.lot_id == lot.id))
        if processed is not None:
            start = max(start, processed)
    return start


def check_passage_times(lot: Lot, number: int, seeded_at: datetime,
                        harvested_at: datetime) -> None:
    """SPEC 4.2: passage n+1 is seeded after passage n was harvested, and after the lot
    started; nothing is harvested before it was seeded, nor in the future."""
    if harvested_at <= seeded_at:
        raise DomainError(_("A passage is harvested after it was seeded."))
    not_in_future(harvested_at, _("A passage cannot be recorded as harvested in the future."))
    start = lot_start(lot)
    if seeded_at < start:
        raise DomainError(_("P%(n)s cannot be seeded before lot %(lot)s started (%(at)s).",
                            n=number, lot=lot.lot_id, at=format_local(start)),
                          field_errors={"seeded_at": [_("Before the lot started.")]})
    if lot.passages and seeded_at < lot.passages[-1].harvested_at:
        previous = lot.passages[-1]
        raise DomainError(_("P%(n)s cannot be seeded before P%(previous)s was harvested "
                            "(%(at)s).", n=number, previous=previous.number,
                            at=format_local(previous.harvested_at)),
                          field_errors={"seeded_at": [_("Before the previous harvest.")]})


def check_after_last_harvest(lot: Lot, at: datetime, step: str) -> None:
    """Banking and a batch's harvest take the cells of the last passage: not before its
    harvest, and not in the future."""
    not_in_future(at, _("%(step)s cannot be recorded in the future.", step=step))
    if lot.passages and at < lot.passages[-1].harvested_at:
        last = lot.passages[-1]
        raise DomainError(_("%(step)s of lot %(lot)s cannot come before P%(n)s was harvested "
                            "(%(at)s).", step=step, lot=lot.lot_id, n=last.number,
                            at=format_local(last.harvested_at)))


# --- Mass balance -------------------------------------------------------------------------------


def _allowed(count: float) -> float:
    """A count that cells taken from `count` may reach: the protocol's rounding, none by
    default."""
    return count * (1 + float(protocol.value("cell_count_tolerance_pct")) / 100)


def thawed_cells(lot: Lot) -> float:
    """The cells in the vials thawed into a batch."""
    return float(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Vial.cells), 0.0))
                                   .where(Vial.thawed_into_id == lot.id)) or 0.0)


def _next_passage_source(lot: Lot) -> tuple[float, str] | None:
    if lot.passages:
        last = lot.passages[-1]
        return last.cells_harvested, _("P%(n)s harvested", n=last.number)
    if lot.kind == PRODUCT_BATCH:
        return thawed_cells(lot), _("the thawed vials hold")
    return None


def cells_for_next_passage(lot: Lot) -> float | None:
    """How many cells the next passage may seed: the last passage's harvest, or a batch's
    thawed vials; None for a bank's primary culture (cord tissue is not counted in cells)."""
    source = _next_passage_source(lot)
    return None if source is None else source[0]


def check_seeding(lot: Lot, number: int, cells_seeded: float) -> None:
    """SPEC 4.2: a passage seeds no more cells than the harvest (or vials) it comes from."""
    source = _next_passage_source(lot)
    if source is not None and cells_seeded > _allowed(source[0]):
        available, where = source
        raise DomainError(_("P%(n)s cannot seed %(seeded)s cells: %(source)s %(available)s.",
                            n=number, seeded=cells(cells_seeded), source=where,
                            available=cells(available)),
                          field_errors={"cells_seeded": [_("More than the cells available.")]})


def check_taken_from_last(lot: Lot, taken: float, what: str) -> None:
    """Cells banked in vials, or harvested from a batch, come from its last passage."""
    last = lot.passages[-1]
    if taken > _allowed(last.cells_harvested):
        raise DomainError(_("Lot %(lot)s cannot %(what)s: P%(n)s harvested %(available)s.",
                            lot=lot.lot_id, what=what, n=last.number,
                            available=cells(last.cells_harvested)))


# --- Growth -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Growth:
    """What a passage's counts say: a warning needs a reason; an impossible growth opens a
    deviation."""

    doubling_time_hours: float | None
    warning: str | None = None
    impossible: str | None = None


def judge_growth(number: int, cells_seeded: float, cells_harvested: float,
                 hours: float) -> Growth:
    doublings = log2(cells_harvested / cells_seeded)
    doubling_time = hours / doublings if doublings > 0 else None
    fastest = float(protocol.value("doubling_time_limit_hours"))
    # harvested > seeded x 2^(hours / fastest doubling time), compared in doublings.
    if doublings > hours / fastest:
        return Growth(doubling_time, impossible=_(
            "P%(n)s: %(harvested)s cells harvested from %(seeded)s seeded in %(hours).0f h is "
            "a doubling every %(time).1f h; no cell doubles faster than every %(fastest)g h.",
            n=number, harvested=cells(cells_harvested), seeded=cells(cells_seeded),
            hours=hours, time=doubling_time, fastest=fastest))
    low = float(protocol.value("doubling_time_min_hours"))
    high = float(protocol.value("doubling_time_max_hours"))
    if doubling_time is None:
        return Growth(None, warning=_(
            "P%(n)s did not grow (%(harvested)s cells harvested from %(seeded)s seeded): give "
            "the reason to record it.", n=number, harvested=cells(cells_harvested),
            seeded=cells(cells_seeded)))
    if not low <= doubling_time <= high:
        return Growth(doubling_time, warning=_(
            "P%(n)s doubled every %(time).1f h, outside the plausible %(low)g-%(high)g h: give "
            "the reason to record it.", n=number, time=doubling_time, low=low, high=high))
    return Growth(doubling_time)
