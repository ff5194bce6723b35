"""The ISBT 128 lot and vial labels' content, built from the lot's records, and their prints
(SPEC 3, 4.6)."""

from __future__ import annotations

from flask_babel import gettext as _

from ..auth.models import User
from ..core.clock import format_local, site_zone
from ..core.errors import Conflict, DomainError, NotFound, NotPermitted
from ..core.isbt128 import Din, format_datetime
from ..labels import prints
from ..labels.content import LotLabel, VialLabel
from .models import Lot, Vial
from .service import product_code, product_description


def lot_label(lot: Lot) -> LotLabel:
    if lot.expires_at is None:
        raise Conflict(f"Lot {lot.lot_id} has no expiry yet: it gets one when it is banked or "
                       "harvested, and its label then.")
    collection = lot.collection
    din = Din(collection.din[:5], int(collection.din[5:7]), int(collection.din[7:]),
              collection.din_flags)
    code = product_code(lot.kind, lot.product_code[6:])
    zone = site_zone()
    return LotLabel(
        din_data=din.barcode_data, din_text=din.text, din_check=din.check,
        product_code_data=code.barcode_data, product_description=product_description(lot.kind),
        collection_data=format_datetime("collection_time", collection.collected_at, zone),
        collection_text=format_local(collection.collected_at),
        expiry_data=format_datetime("expiry", lot.expires_at, zone),
        expiry_text=format_local(lot.expires_at),
    )


def vial_of(lot: Lot, number: int) -> Vial:
    vial = next((v for v in lot.vials if v.number == number), None)
    if vial is None:
        raise NotFound(_("Lot %(lot)s has no vial %(n)s.", lot=lot.lot_id, n=number))
    return vial


def vial_label(vial: Vial) -> VialLabel:
    """The vial carries its bank's DIN, product code and expiry (a banked lot has one)."""
    bank = lot_label(vial.lot)
    return VialLabel(
        din_data=bank.din_data, din_text=bank.din_text, din_check=bank.din_check,
        product_code_data=bank.product_code_data,
        product_description=bank.product_description, vial_id=vial.label,
        position=vial.position, expiry_text=bank.expiry_text,
    )


def _check_printer(by: User) -> None:
    # SPEC 4.6, 7: technician and QA fetch lot labels; of the two, printing (technician or
    # pharmacist) leaves the technician.
    if not (by.can("label.print") and by.can("lot_label.read")):
        raise NotPermitted(_("Only a technician prints lot and vial labels."))


def print_lot_label(lot: Lot, *, fmt: str, by: User) -> tuple[bytes, str]:
    """SPEC 4.6: print the lot label (audited); fetching it is a preview and records nothing."""
    _check_printer(by)
    label = lot_label(lot)
    return prints.print_label(label, entity=lot, action="lot.label_printed", fmt=fmt, by=by,
                              printed={"din": label.din_text, "structures": label.structures})


def print_vial_label(vial: Vial, *, fmt: str, by: User) -> tuple[bytes, str]:
    """SPEC 4.6: print one vial's label (audited on its lot). A thawed or discarded vial is
    gone: its label is not printed again."""
    _check_printer(by)
    if vial.status != "stored":
        raise DomainError(_("Vial %(vial)s is %(status)s: its label is no longer printed.",
                            vial=vial.label, status=vial.status))
    label = vial_label(vial)
    return prints.print_label(label, entity=vial.lot, action="lot.vial_label_printed", fmt=fmt,
                              by=by, printed={"vial": vial.label, "position": vial.position,
                                              "din": label.din_text})
