"""Liver disease severity scores computed at each follow-up visit: MELD, MELD-Na, Child-Pugh.

SPEC 4.10: the scores are computed, never typed in, so every visit is scored by one formula.
Inputs are in the standard units of `units` (bilirubin and creatinine mg/dL, albumin g/dL, sodium
mmol/L); `visit_scores` takes the labs as written and converts them first.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Literal

from ucmsc_lims.followup import units

MELD_MAX = 40
SODIUM_LOW, SODIUM_HIGH = 125.0, 137.0
MELD_NA_THRESHOLD = 11


class Ascites(StrEnum):
    NONE = "none"
    MILD = "mild"
    MODERATE_SEVERE = "moderate_severe"


class Encephalopathy(StrEnum):
    NONE = "none"
    GRADE_1_2 = "grade_1_2"
    GRADE_3_4 = "grade_3_4"


ChildPughClass = Literal["A", "B", "C"]


@dataclass(frozen=True)
class ChildPugh:
    score: int
    class_: ChildPughClass


@dataclass(frozen=True)
class VisitScores:
    """The scores of one visit; None where a lab or clinical finding needed is missing."""

    meld: int | None
    meld_na: int | None
    child_pugh_score: int | None
    child_pugh_class: ChildPughClass | None


def _half_up(x: float) -> int:
    """Round .5 away from zero, as the UNOS calculator does (Python's round() would not)."""
    return int(Decimal(repr(x)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def _checked(code: str, value: float, unit: str) -> float:
    units.check_plausible(code, value, unit)
    return float(value)


def meld(
    bilirubin_mg_dl: float, inr: float, creatinine_mg_dl: float, *, dialysis: bool = False
) -> int:
    """Original (UNOS, pre-2016) MELD as a whole number from 6 to 40.

    MELD = 3.78 ln(bilirubin mg/dL) + 11.2 ln(INR) + 9.57 ln(creatinine mg/dL) + 6.43
    (Kamath PS et al., Hepatology 2001;33:464-470, as adopted by OPTN/UNOS; this is UNOS's
    10 x [0.378 ln(bili) + 1.120 ln(INR) + 0.957 ln(creat) + 0.643]).
    OPTN Policy 9.1 rules applied here:
    - any value below 1.0 is set to 1.0 (so no logarithm is negative);
    - creatinine is capped at 4.0 mg/dL, and set to 4.0 when the patient had dialysis at least
      twice in the past week or 24 h of CVVHD (`dialysis=True`);
    - UNOS rounds the bracket to the tenth and multiplies by 10, which is rounding the x10 form
      half-up to a whole number; that whole number is returned (not MELD x10);
    - scores above 40 are set to 40.
    """
    return min(_meld_i(bilirubin_mg_dl, inr, creatinine_mg_dl, dialysis), MELD_MAX)


def _meld_i(bilirubin_mg_dl: float, inr: float, creatinine_mg_dl: float, dialysis: bool) -> int:
    """MELD(i) of the 2016 policy: the original MELD before its 40 cap."""
    bili = max(_checked("BILI", bilirubin_mg_dl, "mg/dL"), 1.0)
    ratio = max(_checked("INR", inr, ""), 1.0)
    creat = _checked("CREAT", creatinine_mg_dl, "mg/dL")
    creat = 4.0 if dialysis else min(max(creat, 1.0), 4.0)
    return _half_up(3.78 * math.log(bili) + 11.2 * math.log(ratio) + 9.57 * math.log(creat) + 6.43)


def meld_na(
    bilirubin_mg_dl: float,
    inr: float,
    creatinine_mg_dl: float,
    sodium_mmol_l: float,
    *,
    dialysis: bool = False,
) -> int:
    """MELD-Na as implemented by OPTN/UNOS in January 2016, a whole number from 6 to 40.

    MELD(i) is the original MELD (see `meld`), rounded, before the 40 cap. When MELD(i) > 11:
      MELD = MELD(i) + 1.32 x (137 - Na) - [0.033 x MELD(i) x (137 - Na)]
    with sodium bounded to 125-137 mmol/L; otherwise MELD = MELD(i). The result is rounded
    half-up and capped at 40 (Kim WR et al., N Engl J Med 2008;359:1018-1026; OPTN Policy 9.1.D).
    The cap is applied last, so MELD-Na is never below MELD when sodium is below 137.
    """
    sodium = _checked("SODIUM", sodium_mmol_l, "mmol/L")
    initial = _meld_i(bilirubin_mg_dl, inr, creatinine_mg_dl, dialysis)
    if initial <= MELD_NA_THRESHOLD:
        return min(initial, MELD_MAX)
    deficit = 137.0 - min(max(sodium, SODIUM_LOW), SODIUM_HIGH)
    score = initial + 1.32 * deficit - 0.033 * initial * deficit
    return min(_half_up(score), MELD_MAX)


def _bilirubin_points(bilirubin_mg_dl: float) -> int:
    return 1 if bilirubin_mg_dl < 2 else 2 if bilirubin_mg_dl <= 3 else 3


def _albumin_points(albumin_g_dl: float) -> int:
    return 1 if albumin_g_dl > 3.5 else 2 if albumin_g_dl >= 2.8 else 3


def _coagulation_points(inr: float | None, pt_prolonged_s: float | None) -> int:
    # INR is preferred because it is standardized across laboratories; PT seconds above control
    # is the original criterion, used when no INR was measured.
    if inr is not None:
        return 1 if inr < 1.7 else 2 if inr <= 2.3 else 3
    if pt_prolonged_s is not None:
        return 1 if pt_prolonged_s < 4 else 2 if pt_prolonged_s <= 6 else 3
    raise ValueError("Child-Pugh needs the INR or the prothrombin time prolongation.")


_ASCITES_POINTS = {Ascites.NONE: 1, Ascites.MILD: 2, Ascites.MODERATE_SEVERE: 3}
_ENCEPHALOPATHY_POINTS = {
    Encephalopathy.NONE: 1,
    Encephalopathy.GRADE_1_2: 2,
    Encephalopathy.GRADE_3_4: 3,
}


def child_pugh(
    *,
    bilirubin_mg_dl: float,
    albumin_g_dl: float,
    ascites: Ascites | str,
    encephalopathy: Encephalopathy | str,
    inr: float | None = None,
    pt_prolonged_s: float | None = None,
) -> ChildPugh:
    """Child-Pugh score (5-15) and class (Pugh RN et al., Br J Surg 1973;60:646-649).

    Points 1 / 2 / 3 for: bilirubin <2 / 2-3 / >3 mg/dL; albumin >3.5 / 2.8-3.5 / <2.8 g/dL;
    INR <1.7 / 1.7-2.3 / >2.3, or PT prolonged <4 / 4-6 / >6 s over control when no INR;
    ascites none / mild / moderate-severe; encephalopathy none / grade 1-2 / grade 3-4.
    Limits belong to the middle band (bilirubin 3.0 scores 2). Class A 5-6, B 7-9, C 10-15.
    """
    units.check_plausible("BILI", bilirubin_mg_dl, "mg/dL")
    units.check_plausible("ALB", albumin_g_dl, "g/dL")
    if inr is not None:
        units.check_plausible("INR", inr, "")
    score = (
        _bilirubin_points(bilirubin_mg_dl)
        + _albumin_points(albumin_g_dl)
        + _coagulation_points(inr, pt_prolonged_s)
        + _ASCITES_POINTS[Ascites(ascites)]
        + _ENCEPHALOPATHY_POINTS[Encephalopathy(encephalopathy)]
    )
    grade: ChildPughClass = "A" if score <= 6 else "B" if score <= 9 else "C"
    return ChildPugh(score, grade)


def visit_scores(
    labs: Iterable[tuple[str, units.Number, str]],
    *,
    dialysis: bool = False,
    ascites: Ascites | str | None = None,
    encephalopathy: Encephalopathy | str | None = None,
    pt_control_s: float | None = None,
) -> VisitScores:
    """Scores of one visit from its labs as written (`(analyte, value, unit)`, SPEC 7).

    A score whose inputs are incomplete is None rather than guessed. When several results of
    one analyte are given, the last one counts. `pt_control_s` (the laboratory's normal control)
    lets Child-Pugh use the PT when no INR was measured.
    """
    std: dict[str, float] = {}
    for code, value, unit in labs:
        std[code] = units.to_standard(code, value, unit)[0]
    bili, inr, creat = std.get("BILI"), std.get("INR"), std.get("CREAT")
    have_meld = bili is not None and inr is not None and creat is not None
    score_meld = meld(bili, inr, creat, dialysis=dialysis) if have_meld else None
    score_na = (
        meld_na(bili, inr, creat, std["SODIUM"], dialysis=dialysis)
        if have_meld and "SODIUM" in std
        else None
    )
    pt = std.get("PT")
    prolonged = pt - pt_control_s if pt is not None and pt_control_s is not None else None
    cp = None
    if (
        bili is not None
        and "ALB" in std
        and (inr is not None or prolonged is not None)
        and ascites is not None
        and encephalopathy is not None
    ):
        cp = child_pugh(
            bilirubin_mg_dl=bili,
            albumin_g_dl=std["ALB"],
            ascites=ascites,
            encephalopathy=encephalopathy,
            inr=inr,
            pt_prolonged_s=prolonged,
        )
    return VisitScores(
        meld=score_meld,
        meld_na=score_na,
        child_pugh_score=cp.score if cp else None,
        child_pugh_class=cp.class_ if cp else None,
    )
