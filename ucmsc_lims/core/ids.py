"""Our own identifiers (bag, patient, material lot, location) and the one scan parser.

The ISBT 128 structures live in `isbt128`; this module decides which kind a scanned string is and
hands it to the right parser (SPEC 3). It does no database look-up: whether a bag code is voided
or an id is known is decided by the caller.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from ucmsc_lims.core.isbt128 import (
    CHECK_MISMATCH,
    SUPPLIER_IDENTIFIERS,
    TIME_KINDS,
    Din,
    ScanError,
    check_character,
    format_patient_identification,
    parse_datetime,
    parse_din_barcode,
    parse_din_keyboard,
    parse_patient_identification,
    parse_product_code,
    parse_staff,
    parse_supplier_symbol,
)

__all__ = [
    "Scan",
    "ScanError",
    "ScanKind",
    "bag_code",
    "check_character",
    "location_code",
    "material_lot_code",
    "new_bag_id",
    "parse_bag_code",
    "parse_location_code",
    "parse_material_lot_code",
    "parse_patient_code",
    "parse_scan",
    "patient_code",
    "patient_identification",
]

ScanKind = Literal[
    "din",
    "product_code",
    "expiry",
    "collection_time",
    "production_time",
    "bag",
    "patient",
    "staff",
    "material_lot",
    "location",
]

FACILITY_TZ = ZoneInfo("Asia/Shanghai")

# --- Bag ids and bag label codes ---------------------------------------------------------------

# SPEC 3: Crockford base 32 leaves out I, L, O and U, which people misread as 1, 0 and V.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BAG_ID_LENGTH = 10
_BAG_ID = re.compile(r"[0-9A-HJKMNP-TV-Z]{10}")
_BAG_CODE = re.compile(r"(?P<bag_id>[0-9A-HJKMNP-TV-Z]{10})(?P<issue>[0-9]{2})(?P<check>[0-9A-Z*])")


def _looks_like_din(chars: str) -> bool:
    """A first character then only digits: the shape of a DIN's 13 characters."""
    return chars[1:].isascii() and chars[1:].isdigit()


def new_bag_id() -> str:
    """A random, non-sequential, non-informative bag id of 10 Crockford base-32 characters.

    An id whose characters after the first are all digits is drawn again, so that a bag code
    can never be mistaken for a DIN typed without its check character.
    """
    while True:
        bag_id = "".join(secrets.choice(CROCKFORD) for _ in range(BAG_ID_LENGTH))
        if not _looks_like_din(bag_id):
            return bag_id


def _require_bag_id(bag_id: str) -> None:
    if not _BAG_ID.fullmatch(bag_id) or _looks_like_din(bag_id):
        raise ScanError(
            "A bag id has 10 letters and digits from the bag label alphabet (no I, L, O or U)."
        )


def bag_code(bag_id: str, issue: int) -> str:
    """The label's code: bag id, 2-digit label issue number (01-99) and check character.

    SPEC 4.6: a reprint gets the next issue number, and so a new code.
    """
    _require_bag_id(bag_id)
    if not 1 <= issue <= 99:
        raise ScanError("A label issue number is 01 to 99.")
    body = f"{bag_id}{issue:02d}"
    return body + check_character(body)


def parse_bag_code(code: str) -> tuple[str, int]:
    """Read a bag label code back into (bag id, label issue number)."""
    text = "".join(code.split()).upper()
    if len(text) != 13:
        raise ScanError(f"A bag code has 13 characters; this one has {len(text)}.")
    match = _BAG_CODE.fullmatch(text)
    if match is None:
        if re.fullmatch(r"[0-9A-Z]{10}[0-9]{2}[0-9A-Z*]", text):
            raise ScanError(
                "A bag code never holds the letters I, L, O or U: look for a 1 or a 0 "
                "typed as a letter."
            )
        raise ScanError(
            "A bag code is 10 letters and digits, a 2-digit label number and a check character."
        )
    _require_bag_id(match["bag_id"])
    if match["check"] != check_character(text[:12]):
        raise ScanError(CHECK_MISMATCH)
    issue = int(match["issue"])
    if issue == 0:
        raise ScanError("A label issue number is 01 to 99.")
    return match["bag_id"], issue


# --- Patient wristband codes -------------------------------------------------------------------

# SPEC 3: the site-subject id, 2 digits for the site and 3 or 4 for the subject (`01-023`).
_SUBJECT_ID = re.compile(r"[0-9]{2}-[0-9]{3,4}")
_PATIENT_CODE = re.compile(r"(?P<subject_id>[0-9]{2}-[0-9]{3,4})(?P<check>[0-9A-Z*])")


def patient_code(subject_id: str) -> str:
    """The wristband code: the subject id and the check character over its digits.

    `01-023` gives `01-0238`: the check is computed over `01023`, the hyphen left out.
    """
    if not _SUBJECT_ID.fullmatch(subject_id):
        raise ScanError(f"A subject id is like 01-023; {subject_id!r} is not.")
    return subject_id + check_character(subject_id.replace("-", ""))


def parse_patient_code(code: str) -> str:
    """Read a wristband code back into its subject id, checking the check character."""
    text = "".join(code.split()).upper()
    match = _PATIENT_CODE.fullmatch(text)
    if match is None:
        raise ScanError(
            "A wristband code is the subject id, like 01-023, followed by its check character."
        )
    subject_id = match["subject_id"]
    if match["check"] != check_character(subject_id.replace("-", "")):
        raise ScanError(CHECK_MISMATCH)
    return subject_id


def patient_identification(subject_id: str) -> str:
    """The ISBT 128 Patient Identification Number form of a wristband.

    Layout chosen: `&#` + location `00` (not used) + the 2-digit length + the whole wristband
    code, check character included, so `01-023` travels as `&#000701-0238` and the same check
    protects both forms.
    """
    return format_patient_identification(patient_code(subject_id))


# --- Material lot receipt ids ------------------------------------------------------------------

_MATERIAL_LOT = re.compile(r"ML(?P<number>[0-9]{6})(?P<check>[0-9A-Z*])")


def material_lot_code(n: int) -> str:
    """The internal receipt id of a material lot: `ML`, 6 digits and a check over all 8."""
    if not 0 <= n <= 999_999:
        raise ScanError("A material lot number has at most 6 digits.")
    body = f"ML{n:06d}"
    return body + check_character(body)


def parse_material_lot_code(code: str) -> int:
    """Read a material lot receipt id back into its number."""
    text = "".join(code.split()).upper()
    if len(text) != 9:
        raise ScanError(
            f"A material lot code is ML, 6 digits and a check character (9 characters); "
            f"this one has {len(text)}."
        )
    match = _MATERIAL_LOT.fullmatch(text)
    if match is None:
        raise ScanError("A material lot code is ML, 6 digits and a check character.")
    if match["check"] != check_character(text[:8]):
        raise ScanError(CHECK_MISMATCH)
    return int(match["number"])


# --- Location codes ----------------------------------------------------------------------------

# A location label is read at a fixed place and never typed at the bedside: no check character.
_LOCATION = re.compile(r"L-[A-Z0-9-]{2,20}")


def location_code(name: str) -> str:
    """The location code for a short name: `WARD-A` gives `L-WARD-A`."""
    return parse_location_code(f"L-{name}")


def parse_location_code(code: str) -> str:
    """Validate a location code `L-` + 2 to 20 letters, digits or hyphens; return it upper-case."""
    text = "".join(code.split()).upper()
    if not _LOCATION.fullmatch(text):
        raise ScanError("A location code is L- followed by 2 to 20 letters, digits or hyphens.")
    return text


# --- The scan parser ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scan:
    """What a scanned string is.

    `id` is the canonical identifier: the 13-character DIN, the bag id, the subject id, the staff
    facility and number, the material lot code or supplier content, the location code, the UTC
    instant in ISO 8601 for a date and time. `check_ok` is True when the code carries a check
    character and it matched; False when the code carries none (ISBT 128 barcode data and
    location codes, protected by the barcode symbol's own check). A check character that does
    not match never gets this far: it raises `ScanError`.
    """

    kind: ScanKind
    id: str
    check_ok: bool
    fields: dict[str, Any] = field(default_factory=dict)


_LONGEST_CODE = 120
_ISBT_DIN_FIRST = re.compile(r"=[A-NP-Z1-9]")
_DIN_LIKE = re.compile(r"[A-Z0-9][0-9]{6,}[0-9A-Z*]*")
_BAG_LIKE = re.compile(r"[0-9A-Z]{10,16}\*?")


def parse_scan(raw: str, *, tz: ZoneInfo = FACILITY_TZ) -> Scan:
    """Classify one scanned or typed string and parse it (SPEC 3, SPEC 7 `POST /scans`).

    `tz` is the facility's zone, in which ISBT 128 dates and times are printed.
    """
    text = "".join(raw.split())
    if not text:
        raise ScanError("Nothing was scanned.")
    if len(text) > _LONGEST_CODE:
        raise ScanError("This is too long to be a code this system prints or reads.")
    if text[0] in "=&":
        return _parse_isbt128(text, tz)
    upper = text.upper()
    if upper.startswith("L-"):
        return Scan("location", parse_location_code(upper), False)
    if upper.startswith("ML"):
        number = parse_material_lot_code(upper)
        return Scan("material_lot", upper, True, {"symbol": "receipt", "number": number})
    if re.match(r"[0-9]{2}-", upper):
        subject_id = parse_patient_code(upper)
        return Scan("patient", subject_id, True, {"code": upper, "form": "wristband"})
    if len(upper) == 13 and not _looks_like_din(upper[:12]) and _BAG_LIKE.fullmatch(upper):
        bag_id, issue = parse_bag_code(upper)
        return Scan("bag", bag_id, True, {"issue": issue, "code": upper})
    if _DIN_LIKE.fullmatch(upper):
        din = parse_din_keyboard(upper)
        return Scan("din", din.text, True, _din_fields(din, "keyboard"))
    if _BAG_LIKE.fullmatch(upper) and len(upper) in (12, 14):
        raise ScanError(f"A bag code has 13 characters; this one has {len(upper)}.")
    raise ScanError("Not a known kind of code.")


def _din_fields(din: Din, form: str) -> dict[str, Any]:
    return {
        "facility": din.facility,
        "year": din.year,
        "sequence": din.sequence,
        "flags": din.flags,
        "check": din.check,
        "form": form,
        "barcode_data": din.barcode_data,
    }


def _parse_isbt128(text: str, tz: ZoneInfo) -> Scan:
    """Dispatch on the ISBT 128 data identifier, the first 2 characters."""
    identifier = text[:2]
    if identifier == "=<":
        product = parse_product_code(text)
        return Scan(
            "product_code",
            product.text,
            False,
            {
                "description_code": product.description_code,
                "collection_type": product.collection_type,
                "division": product.division,
            },
        )
    if identifier in TIME_KINDS:
        kind, instant = parse_datetime(text, tz)
        return Scan(kind, instant.isoformat(), False, {"at": instant, "tz": tz.key})
    if identifier == "='":
        staff = parse_staff(text)
        return Scan(
            "staff", staff.text, False, {"facility": staff.facility, "number": staff.number}
        )
    if identifier in SUPPLIER_IDENTIFIERS:
        symbol = parse_supplier_symbol(text)
        fields = {
            "symbol": symbol.structure,
            "container_type": symbol.container_type,
            "manufacturer": symbol.manufacturer,
            "catalogue": symbol.catalogue,
            "lot": symbol.lot,
        }
        return Scan("material_lot", symbol.content, False, fields)
    if identifier == "&#":
        location, code = parse_patient_identification(text)
        subject_id = parse_patient_code(code)
        return Scan(
            "patient",
            subject_id,
            True,
            {"code": code, "form": "isbt128", "location": location},
        )
    if _ISBT_DIN_FIRST.fullmatch(identifier.upper()):
        din = parse_din_barcode(text)
        return Scan("din", din.text, False, _din_fields(din, "barcode"))
    raise ScanError("This ISBT 128 code is not one this system reads.")
