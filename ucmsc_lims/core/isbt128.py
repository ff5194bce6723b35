"""ISBT 128 data structures the lab prints and reads, and the mod 37-2 check character.

Each structure is a data identifier (`=` or `&` and one more character) followed by fixed-length
data content (SPEC 3). Every parse here raises `ScanError` with a message a nurse or technician
can act on; formatting functions raise it too when asked to encode a value the structure cannot
hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

# SPEC 3: ISO/IEC 7064 mod 37-2; characters 0-9, A-Z and * stand for the values 0-36.
CHECK_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
_INPUT_VALUES = {char: value for value, char in enumerate(CHECK_ALPHABET[:36])}

CHECK_MISMATCH = "The check character does not match: the code was mistyped or misread."

# SPEC 3: the first character of a facility id is A-N, P-Z or 1-9 (never O or 0).
FACILITY_FIRST = "ABCDEFGHIJKLMNPQRSTUVWXYZ123456789"
_FACILITY = re.compile(r"[A-NP-Z1-9][0-9]{4}")
# ISBT 128 flag characters are letters or digits; `00` when unused.
_FLAGS = re.compile(r"[0-9A-Z]{2}")


class ScanError(ValueError):
    """A scanned or typed code that cannot be accepted, with the reason in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def check_value(chars: str) -> int:
    """The ISO/IEC 7064 mod 37-2 check value (0-36) of characters from 0-9 and A-Z."""
    total = 0
    for char in chars:
        if char not in _INPUT_VALUES:
            raise ScanError(f"The character {char!r} cannot be part of a checked code.")
        total = ((total + _INPUT_VALUES[char]) * 2) % 37
    return (38 - total) % 37


def check_character(chars: str) -> str:
    """The printed check character for `chars`: `G123498654321` gives `H` (SPEC 3)."""
    return CHECK_ALPHABET[check_value(chars)]


def _require_facility(facility: str) -> None:
    if not _FACILITY.fullmatch(facility):
        raise ScanError(
            "A facility id is a letter other than O or a digit 1-9, then 4 digits "
            f"(like G1234); this one is {facility!r}."
        )


# --- Donation Identification Number (data structure 001) ---------------------------------------


@dataclass(frozen=True)
class Din:
    """A Donation Identification Number: the identity of a cord donation and of its lots."""

    facility: str
    year: int
    sequence: int
    flags: str = "00"

    def __post_init__(self) -> None:
        _require_facility(self.facility)
        if not 0 <= self.year <= 99:
            raise ScanError("The year of a DIN has 2 digits.")
        if not 0 <= self.sequence <= 999_999:
            raise ScanError("The sequence number of a DIN has 6 digits.")
        if not _FLAGS.fullmatch(self.flags):
            raise ScanError("The 2 flag characters of a DIN are letters or digits.")

    @property
    def text(self) -> str:
        """The 13-character DIN `αppppyynnnnnn`, without flags or check character."""
        return f"{self.facility}{self.year:02d}{self.sequence:06d}"

    @property
    def check(self) -> str:
        """The keyboard check character, printed boxed beside the DIN and never encoded."""
        return check_character(self.text)

    @property
    def barcode_data(self) -> str:
        """What the Code 128 symbol carries: `=`, the 13 characters and the 2 flags."""
        return f"={self.text}{self.flags}"

    @property
    def keyboard(self) -> str:
        """The eye-readable form a person types: `G1234 26 123456 00 H`."""
        return f"{self.facility} {self.year:02d} {self.sequence:06d} {self.flags} {self.check}"


_DIN_BODY = re.compile(r"[A-Z0-9][0-9]{12}")
# Type 3 flags (ISBT 128): the values 60-96 carry 60 + the mod 37-2 check value of the DIN.
_TYPE3_FLAGS = range(60, 97)


def _din_from_body(body: str, flags: str) -> Din:
    """Build a Din from its 13 characters, explaining which part is wrong."""
    if len(body) != 13:
        raise ScanError(f"A DIN has 13 characters; this one has {len(body)}.")
    if not _FACILITY.fullmatch(body[:5]):
        raise ScanError(
            "A DIN starts with a facility id: a letter other than O or a digit 1-9, then 4 digits."
        )
    if not _DIN_BODY.fullmatch(body):
        raise ScanError("The year and sequence number of a DIN are 8 digits.")
    if not _FLAGS.fullmatch(flags):
        raise ScanError("The 2 flag characters of a DIN are letters or digits.")
    din = Din(body[:5], int(body[5:7]), int(body[7:]), flags)
    if flags.isdigit() and int(flags) in _TYPE3_FLAGS and int(flags) - 60 != check_value(body):
        raise ScanError(CHECK_MISMATCH)
    return din


def parse_din_barcode(data: str) -> Din:
    """Parse the barcode data `=` + 13 characters + 2 flags (no check character)."""
    text = data.strip().upper()
    if not text.startswith("="):
        raise ScanError("DIN barcode data starts with '='.")
    content = text[1:]
    if len(content) != 15:
        raise ScanError(
            f"A DIN barcode holds 15 characters after '='; this one holds {len(content)}."
        )
    return _din_from_body(content[:13], content[13:])


def parse_din_keyboard(entry: str) -> Din:
    """Parse a typed DIN: 13 characters, optional 2 flags, then the check character.

    Spaces are allowed anywhere, as the eye-readable form prints them; the check character must
    match, since a typed DIN has no other protection against a slip of the finger.
    """
    text = "".join(entry.split()).upper()
    if len(text) == 14:
        body, flags, check = text[:13], "00", text[13]
    elif len(text) == 16:
        body, flags, check = text[:13], text[13:15], text[15]
    elif len(text) in (13, 15) and _DIN_BODY.fullmatch(text[:13]):
        raise ScanError(
            "A DIN typed by hand ends with its check character, the boxed character printed "
            "beside it."
        )
    else:
        counted = len(text) - 1 if len(text) < 16 else len(text) - 3
        raise ScanError(f"A DIN has 13 characters; this one has {max(counted, 0)}.")
    din = _din_from_body(body, flags)
    if check != din.check:
        raise ScanError(CHECK_MISMATCH)
    return din


def parse_din(code: str) -> Din:
    """Parse a DIN in either form: barcode data (starts with `=`) or keyboard entry (SPEC 3)."""
    if code.strip().startswith("="):
        return parse_din_barcode(code)
    return parse_din_keyboard(code)


# --- Product Code (data structure 003) ---------------------------------------------------------

_PRODUCT = re.compile(r"(?P<pdc>[A-Z][A-Z0-9]{4})(?P<t>[A-Za-z0-9])(?P<d>[A-Z0-9])(?P<s>[a-z0-9])")


@dataclass(frozen=True)
class ProductCode:
    """An ISBT 128 Product Code `αooootds`: description code, collection type and division.

    α is the product family (`S` for cellular therapy); `t` is the type of collection and `ds`
    the division (`00` when undivided, `d` an upper-case letter and `s` a lower-case one).
    """

    description_code: str
    collection_type: str = "0"
    division: str = "00"

    def __post_init__(self) -> None:
        if not _PRODUCT.fullmatch(self.text):
            raise ScanError(
                "A product code is a letter and 4 letters or digits, a collection type and "
                "a 2-character division, like S1234V00."
            )

    @property
    def text(self) -> str:
        """The 8 data characters `αooootds`."""
        return f"{self.description_code}{self.collection_type}{self.division}"

    @property
    def barcode_data(self) -> str:
        """What the Code 128 symbol carries: `=<` and the 8 characters."""
        return f"=<{self.text}"


def parse_product_code(data: str) -> ProductCode:
    """Parse `=<αooootds`; case is folded where ISBT 128 fixes it, kept where it carries meaning."""
    text = "".join(data.split())
    if text[:2] != "=<":
        raise ScanError("A product code starts with '=<'.")
    content = text[2:]
    if len(content) != 8:
        raise ScanError(f"A product code has 8 characters after '=<'; this one has {len(content)}.")
    # The collection type may be either case; the division is upper then lower case.
    normal = content[:5].upper() + content[5] + content[6].upper() + content[7].lower()
    match = _PRODUCT.fullmatch(normal)
    if match is None:
        raise ScanError(
            "A product code is a letter and 4 letters or digits, a collection type and "
            "a 2-character division, like S1234V00."
        )
    return ProductCode(match["pdc"], match["t"], match["d"] + match["s"])


# --- Date and time structures (005, 007, 009) --------------------------------------------------

TimeKind = Literal["expiry", "collection_time", "production_time"]
# SPEC 3: expiration `&>`, collection `&*`, production `&}`, each followed by `cyyjjjhhmm`.
TIME_IDENTIFIERS: dict[str, str] = {
    "expiry": "&>",
    "collection_time": "&*",
    "production_time": "&}",
}
TIME_KINDS: dict[str, str] = {prefix: kind for kind, prefix in TIME_IDENTIFIERS.items()}
_CYYJJJHHMM = re.compile(r"[0-9]{10}")


def format_datetime(kind: TimeKind, at: datetime, tz: ZoneInfo) -> str:
    """Encode an aware instant as `&>cyyjjjhhmm` (or `&*`, `&}`) in the facility's local time.

    Seconds are dropped: the structure holds minutes. The century digit `c` counts centuries
    from 2000, so `0` is 2000-2099.
    """
    if kind not in TIME_IDENTIFIERS:
        raise ValueError(f"unknown date-and-time kind {kind!r}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the instant must be timezone-aware")
    local = at.astimezone(tz)
    if not 2000 <= local.year <= 2999:
        raise ScanError("ISBT 128 dates hold the years 2000 to 2999 only.")
    century, year = divmod(local.year - 2000, 100)
    day = local.timetuple().tm_yday
    return f"{TIME_IDENTIFIERS[kind]}{century}{year:02d}{day:03d}{local.hour:02d}{local.minute:02d}"


def parse_datetime(data: str, tz: ZoneInfo) -> tuple[TimeKind, datetime]:
    """Decode `&>`/`&*`/`&}` + `cyyjjjhhmm` read in zone `tz`, as (kind, aware UTC instant).

    A local time that occurs twice (clocks set back) is read as its earlier instant, so an expiry
    is never taken to be later than it may be; a local time skipped by clocks set forward cannot
    have been printed and is refused.
    """
    text = "".join(data.split())
    kind = TIME_KINDS.get(text[:2])
    if kind is None:
        raise ScanError("A date and time code starts with &>, &* or &}.")
    content = text[2:]
    if len(content) != 10:
        raise ScanError(
            f"A date and time code has 10 digits after {text[:2]}; this one has {len(content)}."
        )
    if not _CYYJJJHHMM.fullmatch(content):
        raise ScanError("A date and time code holds only digits after its first 2 characters.")
    year = 2000 + int(content[0]) * 100 + int(content[1:3])
    day, hour, minute = int(content[3:6]), int(content[6:8]), int(content[8:10])
    days_in_year = (datetime(year + 1, 1, 1) - datetime(year, 1, 1)).days
    if not 1 <= day <= days_in_year:
        raise ScanError(
            f"The day of the year must be 001 to {days_in_year}; this one is {day:03d}."
        )
    if hour > 23 or minute > 59:
        raise ScanError(f"The time {hour:02d}:{minute:02d} does not exist on a clock.")
    wall = datetime(year, 1, 1, hour, minute) + timedelta(days=day - 1)
    local = wall.replace(tzinfo=tz, fold=0)
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != wall:
        raise ScanError(
            f"The local time {wall:%Y-%m-%d %H:%M} never happened: the clocks were put forward."
        )
    return kind, instant


# --- Staff Member Identification Number (data structure 020) -----------------------------------

_STAFF_NUMBER = re.compile(r"[0-9A-Z]{6}")


@dataclass(frozen=True)
class StaffId:
    """A staff badge id: the facility id and the member's 6-character number (SPEC 3)."""

    facility: str
    number: str

    def __post_init__(self) -> None:
        _require_facility(self.facility)
        if not _STAFF_NUMBER.fullmatch(self.number):
            raise ScanError("A staff number has 6 letters or digits.")

    @property
    def text(self) -> str:
        """The 11 data characters: facility id and staff number."""
        return self.facility + self.number

    @property
    def barcode_data(self) -> str:
        """What the badge's Code 128 symbol carries: `='` and the 11 characters."""
        return f"='{self.text}"


def parse_staff(data: str) -> StaffId:
    """Parse a staff badge `='αppppuuuuuu`."""
    text = "".join(data.split()).upper()
    if text[:2] != "='":
        raise ScanError("A staff badge code starts with =' .")
    content = text[2:]
    if len(content) != 11:
        raise ScanError(
            f"A staff badge code has 11 characters after =' ; this one has {len(content)}."
        )
    return StaffId(content[:5], content[5:])


# --- Supplier symbols: containers (017, 018) and other items (021, 022) ------------------------

SupplierStructure = Literal["container_catalogue", "container_lot", "item_catalogue", "item_lot"]
SUPPLIER_IDENTIFIERS: dict[str, SupplierStructure] = {
    "=)": "container_catalogue",
    "&)": "container_lot",
    "=-": "item_catalogue",
    "&-": "item_lot",
}
_SUPPLIER_CONTENT = re.compile(r"[0-9A-Z]{10}")


@dataclass(frozen=True)
class SupplierSymbol:
    """One supplier symbol read at receipt of a material (SPEC 3).

    Layouts, as published for ISBT 128 (the full standard is licensed; this follows its public
    summary of data structures, and is the assumption to revisit if a supplier's symbol is
    refused):
    - 017 container manufacturer and catalogue number `=)bqqwwwwwww`: `b` container type,
      `qq` manufacturer id, `wwwwwww` catalogue number;
    - 018 container lot number `&)xxxxxxxxxx`: 10 characters;
    - 021 item manufacturer and catalogue number `=-NNOOOOOOOO`: `NN` manufacturer id,
      `OOOOOOOO` catalogue number;
    - 022 item lot number `&-PPPPPPPPPP`: 10 characters.
    Content is 10 upper-case letters or digits, kept as printed (padding included).
    """

    structure: SupplierStructure
    content: str
    container_type: str | None = None
    manufacturer: str | None = None
    catalogue: str | None = None
    lot: str | None = None


def parse_supplier_symbol(data: str) -> SupplierSymbol:
    """Split a supplier's container or item symbol into manufacturer, catalogue and lot."""
    text = "".join(data.split()).upper()
    structure = SUPPLIER_IDENTIFIERS.get(text[:2])
    if structure is None:
        raise ScanError("A supplier symbol starts with =), &), =- or &-.")
    content = text[2:]
    if len(content) != 10:
        raise ScanError(
            f"A supplier symbol has 10 characters after {text[:2]}; this one has {len(content)}."
        )
    if not _SUPPLIER_CONTENT.fullmatch(content):
        raise ScanError("A supplier symbol holds only letters and digits after its first 2.")
    if structure == "container_catalogue":
        return SupplierSymbol(
            structure,
            content,
            container_type=content[0],
            manufacturer=content[1:3],
            catalogue=content[3:],
        )
    if structure == "item_catalogue":
        return SupplierSymbol(structure, content, manufacturer=content[:2], catalogue=content[2:])
    return SupplierSymbol(structure, content, lot=content)


# --- Patient Identification Number (data structure 025) ----------------------------------------

# The location code `aa` is not used by this system: `00`.
PATIENT_LOCATION_UNSPECIFIED = "00"


def format_patient_identification(
    patient_id: str, location: str = PATIENT_LOCATION_UNSPECIFIED
) -> str:
    """Encode `&#aallxx…x`: a 2-digit location code, the id's length and the id itself."""
    if not re.fullmatch(r"[0-9]{2}", location):
        raise ScanError("The location code of a patient identification is 2 digits.")
    if not 1 <= len(patient_id) <= 99:
        raise ScanError("A patient identification holds 1 to 99 characters.")
    return f"&#{location}{len(patient_id):02d}{patient_id}"


def parse_patient_identification(data: str) -> tuple[str, str]:
    """Decode `&#aallxx…x` into (location code, patient id), checking the stated length."""
    text = "".join(data.split()).upper()
    if text[:2] != "&#":
        raise ScanError("A patient identification code starts with &#.")
    header = text[2:6]
    if not re.fullmatch(r"[0-9]{4}", header):
        raise ScanError(
            "A patient identification code has a 2-digit location and a 2-digit length after &#."
        )
    patient_id = text[6:]
    if int(header[2:]) != len(patient_id):
        raise ScanError(
            f"This patient identification says it holds {int(header[2:])} characters "
            f"but holds {len(patient_id)}."
        )
    return header[:2], patient_id
