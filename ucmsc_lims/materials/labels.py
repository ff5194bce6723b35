"""A material lot's receipt label (SPEC 3): its receipt code as Code 128, and its print."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import gettext as _

from ..core.clock import format_local
from ..core.errors import NotPermitted
from ..labels import prints
from ..labels.content import MaterialLabel
from .models import MaterialLot

if TYPE_CHECKING:
    from ..auth.models import User


def material_label(material: MaterialLot) -> MaterialLabel:
    return MaterialLabel(
        code=material.code, kind=material.kind, name=material.name,
        supplier=material.supplier, supplier_lot=material.supplier_lot,
        expiry_text=material.expires_on.isoformat(),
        received_text=format_local(material.received_at),
    )


def print_material_label(material: MaterialLot, *, fmt: str, by: User) -> tuple[bytes, str]:
    """SPEC 4.6: printing is its own audited action; fetching the label is a preview. Like lot
    labels (SPEC 7: technician and QA), of whom the technician prints."""
    if not (by.can("label.print") and by.can("lot_label.read")):
        raise NotPermitted(_("Only a technician prints material labels."))
    return prints.print_label(material_label(material), entity=material,
                              action="material.label_printed", fmt=fmt, by=by,
                              printed={"code": material.code,
                                       "supplier_lot": material.supplier_lot})
