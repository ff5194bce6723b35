"""MELD, MELD-Na and Child-Pugh as documented in scores.py (SPEC 4.10)."""

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ucmsc_lims.followup.scores import (
    Ascites,
    Encephalopathy,
    child_pugh,
    meld,
    meld_na,
    visit_scores,
)
from ucmsc_lims.followup.units import ImplausibleValue


def by_hand(bili: float, inr: float, creat: float) -> float:
    """The UNOS formula written out, with the bounds already applied by the caller."""
    return 3.78 * math.log(bili) + 11.2 * math.log(inr) + 9.57 * math.log(creat) + 6.43


def test_meld_of_a_worked_example_matches_the_formula_by_hand():
    # 3.78 ln 2 + 11.2 ln 1.5 + 9.57 ln 1.2 + 6.43 = 2.620 + 4.541 + 1.745 + 6.43 = 15.34
    assert by_hand(2.0, 1.5, 1.2) == pytest.approx(15.34, abs=0.01)
    assert meld(2.0, 1.5, 1.2) == 15


def test_meld_of_a_sicker_patient_matches_the_formula_by_hand():
    # 3.78 ln 5.8 + 11.2 ln 2.1 + 9.57 ln 1.9 + 6.43 = 6.645 + 8.310 + 6.143 + 6.43 = 27.53
    assert by_hand(5.8, 2.1, 1.9) == pytest.approx(27.53, abs=0.01)
    assert meld(5.8, 2.1, 1.9) == 28


def test_meld_with_every_value_normal_is_the_floor_of_6():
    assert meld(1.0, 1.0, 1.0) == 6


def test_bilirubin_below_one_is_set_to_one():
    assert meld(0.5, 1.5, 1.2) == meld(1.0, 1.5, 1.2)


def test_inr_below_one_is_set_to_one():
    assert meld(2.0, 0.9, 1.2) == meld(2.0, 1.0, 1.2)


def test_creatinine_below_one_is_set_to_one():
    assert meld(2.0, 1.5, 0.7) == meld(2.0, 1.5, 1.0)


def test_creatinine_above_four_is_capped_at_four():
    assert meld(2.0, 1.5, 5.0) == meld(2.0, 1.5, 4.0)


def test_dialysis_sets_creatinine_to_four():
    # 9.57 ln 4 + 6.43 = 13.267 + 6.43 = 19.70
    assert meld(1.0, 1.0, 1.0, dialysis=True) == round(by_hand(1.0, 1.0, 4.0)) == 20


def test_meld_above_40_is_set_to_40():
    assert by_hand(40.0, 6.0, 4.0) > 40
    assert meld(40.0, 6.0, 4.0) == 40


def test_meld_refuses_an_implausible_bilirubin():
    with pytest.raises(ImplausibleValue, match="Total bilirubin of 900 mg/dL"):
        meld(900, 1.0, 1.0)


def test_meld_na_adds_the_sodium_term_when_meld_i_is_above_11():
    # MELD(i) 15, Na 130: 15 + 1.32 x 7 - 0.033 x 15 x 7 = 15 + 9.24 - 3.465 = 20.775
    assert meld_na(2.0, 1.5, 1.2, 130) == 21


def test_meld_na_bounds_sodium_below_125_to_125():
    assert meld_na(2.0, 1.5, 1.2, 120) == meld_na(2.0, 1.5, 1.2, 125)


def test_meld_na_with_sodium_125_uses_the_full_term():
    # 15 + 1.32 x 12 - 0.033 x 15 x 12 = 15 + 15.84 - 5.94 = 24.9
    assert meld_na(2.0, 1.5, 1.2, 125) == 25


def test_meld_na_bounds_sodium_above_137_to_137():
    assert meld_na(2.0, 1.5, 1.2, 140) == meld_na(2.0, 1.5, 1.2, 137) == meld(2.0, 1.5, 1.2)


def test_meld_na_has_no_sodium_term_when_meld_i_is_11_or_less():
    # 9.57 ln 1.3 + 6.43 = 8.94, so MELD(i) 9: sodium is ignored
    assert meld(1.0, 1.0, 1.3) == 9
    assert meld_na(1.0, 1.0, 1.3, 125) == 9


def test_meld_na_uses_the_dialysis_rule():
    assert meld_na(1.0, 1.0, 1.0, 137, dialysis=True) == 20


def test_meld_na_is_capped_at_40():
    assert meld_na(40.0, 6.0, 4.0, 125) == 40


def test_child_pugh_with_every_finding_normal_is_class_a_5():
    score = child_pugh(
        bilirubin_mg_dl=1.0, albumin_g_dl=4.0, inr=1.1, ascites="none", encephalopathy="none"
    )
    assert (score.score, score.class_) == (5, "A")


def test_child_pugh_limits_belong_to_the_middle_band():
    # bilirubin 3.0 -> 2, albumin 2.8 -> 2, INR 2.3 -> 2, ascites mild -> 2, none -> 1
    score = child_pugh(
        bilirubin_mg_dl=3.0,
        albumin_g_dl=2.8,
        inr=2.3,
        ascites=Ascites.MILD,
        encephalopathy=Encephalopathy.NONE,
    )
    assert (score.score, score.class_) == (9, "B")


def test_child_pugh_lower_limits_of_the_middle_band_score_two():
    # bilirubin 2.0 -> 2, albumin 3.5 -> 2, INR 1.7 -> 2, then 1 + 1
    score = child_pugh(
        bilirubin_mg_dl=2.0, albumin_g_dl=3.5, inr=1.7, ascites="none", encephalopathy="none"
    )
    assert (score.score, score.class_) == (8, "B")


def test_child_pugh_class_b_starts_at_7():
    score = child_pugh(
        bilirubin_mg_dl=2.5, albumin_g_dl=3.0, inr=1.2, ascites="none", encephalopathy="none"
    )
    assert (score.score, score.class_) == (7, "B")


def test_child_pugh_class_c_starts_at_10():
    # 2 + 2 + 2 + 2 + 2
    score = child_pugh(
        bilirubin_mg_dl=2.5,
        albumin_g_dl=3.0,
        inr=2.0,
        ascites="mild",
        encephalopathy="grade_1_2",
    )
    assert (score.score, score.class_) == (10, "C")


def test_child_pugh_worst_findings_score_15():
    score = child_pugh(
        bilirubin_mg_dl=4.0,
        albumin_g_dl=2.0,
        inr=3.0,
        ascites="moderate_severe",
        encephalopathy="grade_3_4",
    )
    assert (score.score, score.class_) == (15, "C")


def test_child_pugh_uses_pt_prolongation_when_no_inr_was_measured():
    def with_pt(seconds: float) -> int:
        return child_pugh(
            bilirubin_mg_dl=1.0,
            albumin_g_dl=4.0,
            pt_prolonged_s=seconds,
            ascites="none",
            encephalopathy="none",
        ).score

    assert [with_pt(3.9), with_pt(4.0), with_pt(6.0), with_pt(6.1)] == [5, 6, 6, 7]


def test_child_pugh_without_inr_or_pt_is_refused():
    with pytest.raises(ValueError, match="needs the INR or the prothrombin time"):
        child_pugh(bilirubin_mg_dl=1.0, albumin_g_dl=4.0, ascites="none", encephalopathy="none")


def test_child_pugh_refuses_an_unknown_ascites_grade():
    with pytest.raises(ValueError, match="'severe' is not a valid Ascites"):
        child_pugh(
            bilirubin_mg_dl=1.0, albumin_g_dl=4.0, inr=1.0, ascites="severe", encephalopathy="none"
        )


def test_visit_scores_convert_labs_written_in_si_units():
    labs = [
        ("BILI", 34.2, "umol/L"),
        ("INR", 1.5, ""),
        ("CREAT", 106.08, "umol/L"),
        ("SODIUM", 130, "mmol/L"),
        ("ALB", 30, "g/L"),
    ]
    scores = visit_scores(labs, ascites="mild", encephalopathy="none")
    assert scores.meld == meld(2.0, 1.5, 1.2)
    assert scores.meld_na == meld_na(2.0, 1.5, 1.2, 130)
    assert (scores.child_pugh_score, scores.child_pugh_class) == (8, "B")


def test_visit_scores_leave_meld_na_empty_without_sodium():
    scores = visit_scores([("BILI", 2, "mg/dL"), ("INR", 1.5, ""), ("CREAT", 1.2, "mg/dL")])
    assert (scores.meld, scores.meld_na) == (15, None)


def test_visit_scores_leave_child_pugh_empty_without_clinical_findings():
    scores = visit_scores([("BILI", 2, "mg/dL"), ("ALB", 3.0, "g/dL"), ("INR", 1.5, "")])
    assert (scores.child_pugh_score, scores.child_pugh_class) == (None, None)


def test_visit_scores_use_pt_against_the_laboratory_control():
    labs = [("BILI", 1, "mg/dL"), ("ALB", 4, "g/dL"), ("PT", 17.5, "s")]
    scores = visit_scores(labs, ascites="none", encephalopathy="none", pt_control_s=12.5)
    assert scores.child_pugh_score == 6


bilirubin = st.floats(min_value=0, max_value=100)
inr_values = st.floats(min_value=0.5, max_value=25)
creatinine = st.floats(min_value=0.1, max_value=30)
sodium = st.floats(min_value=90, max_value=200)


@settings(max_examples=200)
@given(bilirubin, bilirubin, inr_values, creatinine, sodium)
def test_scores_never_fall_when_bilirubin_rises(b1, b2, inr, creat, na):
    low, high = sorted((b1, b2))
    assert meld(low, inr, creat) <= meld(high, inr, creat)
    assert meld_na(low, inr, creat, na) <= meld_na(high, inr, creat, na)


@settings(max_examples=200)
@given(bilirubin, inr_values, inr_values, creatinine, sodium)
def test_scores_never_fall_when_inr_rises(bili, i1, i2, creat, na):
    low, high = sorted((i1, i2))
    assert meld(bili, low, creat) <= meld(bili, high, creat)
    assert meld_na(bili, low, creat, na) <= meld_na(bili, high, creat, na)


@settings(max_examples=200)
@given(bilirubin, inr_values, creatinine, creatinine, sodium)
def test_scores_never_fall_when_creatinine_rises(bili, inr, c1, c2, na):
    low, high = sorted((c1, c2))
    assert meld(bili, inr, low) <= meld(bili, inr, high)
    assert meld_na(bili, inr, low, na) <= meld_na(bili, inr, high, na)


@settings(max_examples=200)
@given(bilirubin, inr_values, creatinine, st.floats(min_value=90, max_value=136.99))
def test_meld_na_is_at_least_meld_when_sodium_is_low_and_meld_above_11(bili, inr, creat, na):
    assume(meld(bili, inr, creat) > 11)
    assert meld_na(bili, inr, creat, na) >= meld(bili, inr, creat)


@settings(max_examples=200)
@given(bilirubin, inr_values, creatinine, sodium)
def test_scores_stay_between_6_and_40(bili, inr, creat, na):
    assert 6 <= meld(bili, inr, creat) <= 40
    assert 6 <= meld_na(bili, inr, creat, na) <= 40
