"""The ISBT 128 lot label's content, built from the lot's records (SPEC 3, 4.6)."""

from __future__ import annotations

from ..core.clock import format_local, site_zone
from ..core.errors import Conflict
from ..core.isbt128 import Din, format_datetime
from ..labels.content import LotLabel
from .models import Lot
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
