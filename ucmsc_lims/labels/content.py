"""What goes on each label: plain data that callers build, no database, no rendering."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

# SPEC 4.6: the trial's label wording, the same on every bag of both arms.
CLINICAL_TRIAL_ONLY = "For clinical trial use only"
INVESTIGATIONAL_CAUTION = "Caution: investigational product, limited by law to investigational use"
STORAGE_2_8 = "Store at 2–8 °C. Do not freeze."

# ISBT 128 Compound Message (data structure 023): '=+', count of structures, '000' = any order.
COMPOUND_MESSAGE_ANY_ORDER = "000"


def local_time_text(moment: datetime, timezone: str) -> str:
    """Show an aware moment in the site's zone, naming the zone, so nobody guesses UTC or local."""
    if moment.tzinfo is None:
        raise ValueError("label times must be timezone-aware")
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({timezone})"


@dataclass(frozen=True)
class BagLabel:
    """The blinded infusion bag label (SPEC 4.6).

    By construction it has no field for arm, source, product or cells: whatever a caller knows,
    nothing on this label can differ between a cell bag and a saline bag except ids and times.
    """

    study_code: str
    bag_code: str  # SPEC 3: bag id + label issue number + check character, what the symbols carry
    bag_id: str
    subject_id: str
    dose_number: int
    dose_count: int
    volume_ml: int
    expires_at: datetime
    timezone: str
    sponsor: str
    site: str
    storage: str = STORAGE_2_8
    cautions: tuple[str, ...] = (CLINICAL_TRIAL_ONLY, INVESTIGATIONAL_CAUTION)
    language: str = "en"

    @property
    def expiry_text(self) -> str:
        return local_time_text(self.expires_at, self.timezone)


@dataclass(frozen=True)
class LotLabel:
    """An unblinded ISBT 128 style lot or intermediate label (SPEC 3, 4.6).

    Each `*_data` field is the exact data structure the linear symbol carries; the caller builds
    them with the identifier module, so the label never re-derives an identifier.
    """

    din_data: str  # '=' + 13-character DIN + 2 flag characters
    din_text: str  # the 13 characters, shown eye-readable
    din_check: str  # ISO/IEC 7064 mod 37-2 keyboard check character: shown boxed, never encoded
    product_code_data: str  # '=<' + product code
    product_description: str
    collection_data: str  # '&*' + cyyjjjhhmm
    collection_text: str
    expiry_data: str  # '&>' + cyyjjjhhmm
    expiry_text: str
    language: str = "en"

    @property
    def structures(self) -> tuple[str, ...]:
        return (self.din_data, self.product_code_data, self.collection_data, self.expiry_data)

    @property
    def compound_message(self) -> str:
        """The 2-D symbol's data: every linear data structure in one ISBT 128 compound message."""
        count = f"{len(self.structures):02d}"
        return "=+" + count + COMPOUND_MESSAGE_ANY_ORDER + "".join(self.structures)


@dataclass(frozen=True)
class WristbandLabel:
    """The patient wristband (SPEC 3): the subject id a bedside scan matches against the bag."""

    subject_id: str
    wristband_code: str  # the exact string both symbols carry
    initials: str
    date_of_birth: date
    site: str
    language: str = "en"


@dataclass(frozen=True)
class VialLabel:
    """A cryopreserved vial of a cell bank lot (SPEC 3, 4.2, 4.6): the donation's DIN as its
    linear symbol, with the boxed check character beside it, and the vial's own id in a 2-D
    symbol, so a vial is told from its siblings by scan."""

    din_data: str  # '=' + 13-character DIN + 2 flag characters
    din_text: str
    din_check: str
    product_code_data: str  # '=<' + product code
    product_description: str
    vial_id: str  # the lot id and the vial number, what the 2-D symbol carries
    position: str  # freezer or dewar position
    expiry_text: str
    language: str = "en"


@dataclass(frozen=True)
class MaterialLabel:
    """A received material lot (SPEC 3): the receipt code as Code 128, with what it is and the
    supplier's lot and expiry. Its status (quarantine, released) changes and is read from the
    system at use, so it is not printed."""

    code: str  # the internal receipt id the symbol carries
    kind: str
    name: str
    supplier: str
    supplier_lot: str
    expiry_text: str
    received_text: str
    language: str = "en"


@dataclass(frozen=True)
class LocationLabel:
    """A location (SPEC 3): its code as Code 128, scanned to name where a hand-off goes or
    which ward a nurse's session is tied to."""

    code: str
    name: str
    language: str = "en"


Label = BagLabel | LotLabel | WristbandLabel | VialLabel | MaterialLabel | LocationLabel
