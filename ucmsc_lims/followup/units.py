"""Follow-up lab analytes: accepted units, conversions, reference ranges and plausibility limits.

Analytes are keyed by their CDISC SDTM LBTESTCD code (SPEC 7, visits endpoint). Each value is
kept as written (value and unit) and converted here to one standard unit per analyte: the unit
the score formulas expect (mg/dL for bilirubin and creatinine, g/dL for albumin, SPEC 4.10).

Conversions use exact fractions, so 20.52 umol/L of bilirubin is exactly 1.2 mg/dL and a value
on a reference limit is never flagged because of binary rounding.

Reference ranges are common adult clinical ranges as published by MedlinePlus (U.S. National
Library of Medicine, medical tests pages for each analyte); where men and women differ, the range
spans both, because this module does not know the patient's sex. A site that needs its own
laboratory's ranges should show those beside ours.

Plausibility limits are wider than anything a living patient can show; a value outside them is a
typing or unit mistake, and is refused rather than stored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal, NamedTuple

Number = int | float | Decimal | Fraction
Flag = Literal["L", "H"]


class UnknownAnalyte(ValueError):
    """The code is not one of the LBTESTCD codes the follow-up visit records."""


class UnknownUnit(ValueError):
    """The unit is not accepted for this analyte (the value could not be converted)."""


class ImplausibleValue(ValueError):
    """The value cannot belong to a living patient: most often a typing or unit mistake."""


class LabValue(NamedTuple):
    """One lab result as written on the visit form (SPEC 7: `{analyte, value, unit}`)."""

    analyte: str
    value: Number
    unit: str


@dataclass(frozen=True)
class Analyte:
    """What the system knows about one analyte; all limits are in the standard unit."""

    code: str
    name: str
    standard_unit: str
    # unit as written -> how many standard units one of it is worth
    units: dict[str, Fraction]
    reference: tuple[Fraction, Fraction]
    plausible: tuple[Fraction, Fraction]


# Factors: bilirubin 1 mg/dL = 17.1 umol/L; creatinine 1 mg/dL = 88.4 umol/L; albumin
# 1 g/dL = 10 g/L; prealbumin 1 mg/dL = 10 mg/L; hemoglobin 1 g/dL = 10 g/L = 0.6206 mmol/L
# (as Hb monomer); ALT 1 ukat/L = 60 U/L; 10^9/L = 10^3/uL for cell counts.
ANALYTES: dict[str, Analyte] = {
    a.code: a
    for a in (
        Analyte(
            code="ALT",
            name="ALT",
            standard_unit="U/L",
            units={"U/L": Fraction("1"), "IU/L": Fraction("1"), "ukat/L": Fraction("60")},
            reference=(Fraction("7"), Fraction("56")),
            plausible=(Fraction("0"), Fraction("50000")),
        ),
        Analyte(
            code="BILI",
            name="Total bilirubin",
            standard_unit="mg/dL",
            units={"mg/dL": Fraction("1"), "umol/L": 1 / Fraction("17.1")},
            reference=(Fraction("0.1"), Fraction("1.2")),
            plausible=(Fraction("0"), Fraction("100")),
        ),
        Analyte(
            code="PT",
            name="Prothrombin time",
            standard_unit="s",
            units={"s": Fraction("1"), "sec": Fraction("1")},
            reference=(Fraction("11"), Fraction("13.5")),
            plausible=(Fraction("5"), Fraction("200")),
        ),
        Analyte(
            code="INR",
            name="INR",
            standard_unit="",
            units={"": Fraction("1"), "1": Fraction("1"), "ratio": Fraction("1")},
            reference=(Fraction("0.8"), Fraction("1.1")),
            plausible=(Fraction("0.5"), Fraction("25")),
        ),
        Analyte(
            code="ALB",
            name="Albumin",
            standard_unit="g/dL",
            units={"g/dL": Fraction("1"), "g/L": Fraction("0.1")},
            reference=(Fraction("3.4"), Fraction("5.4")),
            plausible=(Fraction("0.5"), Fraction("7")),
        ),
        Analyte(
            code="PREALB",
            name="Prealbumin",
            standard_unit="mg/L",
            units={"mg/L": Fraction("1"), "mg/dL": Fraction("10"), "g/L": Fraction("1000")},
            reference=(Fraction("150"), Fraction("360")),
            plausible=(Fraction("0"), Fraction("1000")),
        ),
        Analyte(
            code="CREAT",
            name="Creatinine",
            standard_unit="mg/dL",
            units={"mg/dL": Fraction("1"), "umol/L": 1 / Fraction("88.4")},
            reference=(Fraction("0.6"), Fraction("1.3")),
            plausible=(Fraction("0.1"), Fraction("30")),
        ),
        Analyte(
            code="SODIUM",
            name="Sodium",
            standard_unit="mmol/L",
            units={"mmol/L": Fraction("1"), "mEq/L": Fraction("1")},
            reference=(Fraction("135"), Fraction("145")),
            plausible=(Fraction("90"), Fraction("200")),
        ),
        Analyte(
            code="WBC",
            name="White blood cell count",
            standard_unit="10^9/L",
            units={"10^9/L": Fraction("1"), "10^3/uL": Fraction("1"), "10^3/mm3": Fraction("1")},
            reference=(Fraction("4.5"), Fraction("11")),
            plausible=(Fraction("0"), Fraction("500")),
        ),
        Analyte(
            code="HGB",
            name="Hemoglobin",
            standard_unit="g/dL",
            units={"g/dL": Fraction("1"), "g/L": Fraction("0.1"), "mmol/L": 1 / Fraction("0.6206")},
            reference=(Fraction("12.1"), Fraction("17.2")),
            plausible=(Fraction("1"), Fraction("25")),
        ),
        Analyte(
            code="PLAT",
            name="Platelet count",
            standard_unit="10^9/L",
            units={"10^9/L": Fraction("1"), "10^3/uL": Fraction("1"), "10^3/mm3": Fraction("1")},
            reference=(Fraction("150"), Fraction("400")),
            plausible=(Fraction("0"), Fraction("5000")),
        ),
    )
}


def _unit_key(unit: str) -> str:
    """Spelling-insensitive key: 'µmol/l', 'umol/L' and ' umol / L ' are one unit."""
    return (
        unit.replace("µ", "u")
        .replace("μ", "u")
        .replace("×", "")
        .replace("x10", "10")
        .replace("*", "^")
        .replace(" ", "")
        .casefold()
    )


def analyte(code: str) -> Analyte:
    """The analyte for an LBTESTCD code, or UnknownAnalyte naming the accepted codes."""
    try:
        return ANALYTES[code]
    except KeyError:
        accepted = ", ".join(ANALYTES)
        raise UnknownAnalyte(
            f"Analyte {code!r} is not recorded at follow-up; use one of {accepted}."
        ) from None


def _unit(found: Analyte, unit: str) -> tuple[str, Fraction]:
    """The accepted spelling of `unit` and its factor to the standard unit."""
    key = _unit_key(unit)
    for written, factor in found.units.items():
        if _unit_key(written) == key:
            return written, factor
    accepted = ", ".join(repr(u) if u == "" else u for u in found.units)
    raise UnknownUnit(f"{found.name} cannot be given in {unit!r}; use one of {accepted}.")


def accepted_unit(code: str, unit: str) -> str:
    """The accepted spelling of a unit as written ('umol/l' -> 'umol/L'), or UnknownUnit."""
    return _unit(analyte(code), unit)[0]


def _exact(found: Analyte, value: Number, unit: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, Number):
        raise ImplausibleValue(f"{found.name} must be a number, not {value!r}.")
    if not isinstance(value, Fraction) and not math.isfinite(value):
        raise ImplausibleValue(f"{found.name} of {value} {unit} is not a number.")
    # str() keeps the decimal the user typed: Fraction(0.1) would be 0.1000000000000000055...
    return value if isinstance(value, Fraction) else Fraction(str(value))


def _shown(number: Number) -> str:
    return f"{float(number):.10g}"


def _with_unit(number: Number, unit: str) -> str:
    return f"{_shown(number)} {unit}" if unit else _shown(number)


def check_plausible(code: str, value: Number, unit: str) -> None:
    """Refuse a value no living patient can have, saying the allowed range in the user's unit."""
    found = analyte(code)
    written, factor = _unit(found, unit)
    exact = _exact(found, value, written)
    low, high = found.plausible
    # A limit converted to another unit and back through a float may miss it by one ulp.
    slack = (high - low) / 10**9
    if not low - slack <= exact * factor <= high + slack:
        allowed = f"{_shown(low / factor)}–{_with_unit(high / factor, written)}"
        raise ImplausibleValue(
            f"{found.name} of {_with_unit(value, written)} is not plausible (allowed {allowed})."
        )


def to_standard(code: str, value: Number, unit: str) -> tuple[float, str]:
    """The value in the analyte's standard unit, after refusing an implausible one."""
    found = analyte(code)
    check_plausible(code, value, unit)
    _, factor = _unit(found, unit)
    return float(_exact(found, value, unit) * factor), found.standard_unit


def convert(code: str, value: Number, from_unit: str, to_unit: str) -> float:
    """The value re-expressed in another accepted unit (implausible values are refused)."""
    found = analyte(code)
    check_plausible(code, value, from_unit)
    _, from_factor = _unit(found, from_unit)
    _, to_factor = _unit(found, to_unit)
    return float(_exact(found, value, from_unit) * from_factor / to_factor)


def flag(code: str, value: Number, unit: str) -> Flag | None:
    """'L' below, 'H' above the adult reference range, None inside it (limits included)."""
    found = analyte(code)
    check_plausible(code, value, unit)
    _, factor = _unit(found, unit)
    standard = _exact(found, value, unit) * factor
    low, high = found.reference
    if standard < low:
        return "L"
    if standard > high:
        return "H"
    return None
