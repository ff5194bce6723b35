"""Follow-up lab units: conversions, reference flags and plausibility limits (SPEC 4.10, 7)."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ucmsc_lims.followup import units
from ucmsc_lims.followup.units import (
    ANALYTES,
    ImplausibleValue,
    UnknownAnalyte,
    UnknownUnit,
    check_plausible,
    convert,
    flag,
    to_standard,
)


def test_analytes_are_exactly_the_sdtm_codes_the_visits_endpoint_names():
    assert set(ANALYTES) == {
        "ALT",
        "BILI",
        "PT",
        "INR",
        "ALB",
        "PREALB",
        "CREAT",
        "SODIUM",
        "WBC",
        "HGB",
        "PLAT",
    }


def test_bilirubin_in_umol_per_litre_is_divided_by_17_1():
    assert to_standard("BILI", 34.2, "umol/L") == (2.0, "mg/dL")


def test_bilirubin_on_the_reference_limit_converts_without_rounding_noise():
    assert to_standard("BILI", 20.52, "umol/L") == (1.2, "mg/dL")


def test_creatinine_in_umol_per_litre_is_divided_by_88_4():
    assert to_standard("CREAT", 176.8, "umol/L") == (2.0, "mg/dL")


def test_albumin_in_grams_per_litre_is_a_tenth_in_grams_per_decilitre():
    assert to_standard("ALB", 35, "g/L") == (3.5, "g/dL")


def test_prealbumin_standard_unit_is_milligrams_per_litre():
    assert to_standard("PREALB", 20, "mg/dL") == (200.0, "mg/L")


def test_inr_accepts_an_empty_unit_and_the_unit_one():
    assert to_standard("INR", 1.4, "") == to_standard("INR", 1.4, "1") == (1.4, "")


def test_sodium_in_meq_per_litre_equals_mmol_per_litre():
    assert to_standard("SODIUM", 132, "mEq/L") == (132.0, "mmol/L")


def test_unit_spelling_with_micro_sign_and_lower_case_is_accepted():
    assert to_standard("BILI", 17.1, "µmol/l") == (1.0, "mg/dL")


def test_convert_goes_from_standard_to_another_unit():
    assert convert("BILI", 2, "mg/dL", "umol/L") == pytest.approx(34.2)


def test_convert_between_two_non_standard_units():
    assert convert("HGB", 120, "g/L", "g/dL") == 12.0


@settings(max_examples=100)
@given(st.sampled_from(sorted(ANALYTES)), st.data())
def test_conversion_there_and_back_returns_the_value(code, data):
    found = ANALYTES[code]
    low, high = (float(x) for x in found.plausible)
    value = data.draw(st.floats(min_value=low, max_value=high))
    unit = data.draw(st.sampled_from(sorted(found.units)))
    there = convert(code, value, found.standard_unit, unit)
    assert convert(code, there, unit, found.standard_unit) == pytest.approx(value, abs=1e-9)


def test_implausible_bilirubin_is_refused_in_plain_words():
    with pytest.raises(ImplausibleValue) as refused:
        check_plausible("BILI", 900, "mg/dL")
    assert str(refused.value) == (
        "Total bilirubin of 900 mg/dL is not plausible (allowed 0–100 mg/dL)."
    )


def test_plausibility_limits_are_shown_in_the_unit_the_user_wrote():
    with pytest.raises(ImplausibleValue, match=r"allowed 0–1710 umol/L"):
        check_plausible("BILI", 2000, "umol/L")


def test_negative_values_are_refused():
    with pytest.raises(ImplausibleValue, match="ALT of -5 U/L is not plausible"):
        check_plausible("ALT", -5, "U/L")


def test_not_a_number_is_refused():
    with pytest.raises(ImplausibleValue, match="is not a number"):
        to_standard("SODIUM", float("nan"), "mmol/L")


def test_a_unitless_analyte_message_has_no_dangling_unit():
    with pytest.raises(ImplausibleValue) as refused:
        check_plausible("INR", 30, "")
    assert str(refused.value) == "INR of 30 is not plausible (allowed 0.5–25)."


def test_to_standard_refuses_an_implausible_value():
    with pytest.raises(ImplausibleValue):
        to_standard("CREAT", 50, "mg/dL")


def test_unknown_unit_names_the_accepted_units():
    with pytest.raises(UnknownUnit, match="Total bilirubin cannot be given in 'g/L'; use one of"):
        to_standard("BILI", 1, "g/L")


def test_unknown_analyte_is_refused():
    with pytest.raises(UnknownAnalyte, match="'GGT' is not recorded at follow-up"):
        to_standard("GGT", 40, "U/L")


def test_decimal_values_are_accepted():
    assert to_standard("ALB", Decimal("41.0"), "g/L") == (4.1, "g/dL")


def test_value_below_reference_range_is_flagged_low():
    assert flag("SODIUM", 130, "mmol/L") == "L"


def test_value_above_reference_range_is_flagged_high():
    assert flag("ALT", 120, "U/L") == "H"


def test_value_inside_reference_range_has_no_flag():
    assert flag("HGB", 140, "g/L") is None


def test_reference_limit_itself_is_not_flagged_even_after_conversion():
    assert flag("BILI", 20.52, "umol/L") is None


def test_flag_uses_the_converted_value():
    assert flag("ALB", 30, "g/L") == "L"


def test_every_reference_range_lies_inside_its_plausibility_limits():
    for found in units.ANALYTES.values():
        low, high = found.reference
        assert found.plausible[0] <= low < high <= found.plausible[1], found.code
