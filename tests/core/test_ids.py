"""Our identifiers and the one scan parser (SPEC 3, SPEC 7 `POST /api/v1/scans`)."""

import re
import typing
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ucmsc_lims.core.ids import (
    CROCKFORD,
    Scan,
    ScanError,
    ScanKind,
    bag_code,
    location_code,
    material_lot_code,
    new_bag_id,
    parse_bag_code,
    parse_scan,
    patient_code,
    patient_identification,
)
from ucmsc_lims.core.isbt128 import (
    CHECK_ALPHABET,
    Din,
    ProductCode,
    StaffId,
    check_character,
    format_datetime,
)

bag_ids = st.text(alphabet=CROCKFORD, min_size=10, max_size=10).filter(
    lambda s: not s[1:].isdigit()
)
issues = st.integers(1, 99)
subject_ids = st.from_regex(r"[0-9]{2}-[0-9]{3,4}", fullmatch=True)
dins = st.builds(
    Din,
    facility=st.from_regex(r"[A-NP-Z1-9][0-9]{4}", fullmatch=True),
    year=st.integers(0, 99),
    sequence=st.integers(0, 999_999),
)


def _substitutions(code: str, skip: range = range(0)):
    """Every string that differs from `code` in one character of the check alphabet."""
    for position, original in enumerate(code):
        if position in skip:
            continue
        for other in CHECK_ALPHABET:
            if other != original:
                yield code[:position] + other + code[position + 1 :]


def _refused(raw: str) -> bool:
    try:
        parse_scan(raw)
    except ScanError:
        return True
    return False


# --- bag ids and codes -------------------------------------------------------------------------


def test_new_bag_id_is_10_crockford_characters():
    bag_id = new_bag_id()
    assert len(bag_id) == 10
    assert set(bag_id) <= set(CROCKFORD)


def test_new_bag_ids_are_not_sequential():
    assert len({new_bag_id() for _ in range(200)}) == 200


def test_new_bag_id_never_has_the_shape_of_a_din():
    assert not any(new_bag_id()[1:].isdigit() for _ in range(500))


@settings(max_examples=200)
@given(bag_id=bag_ids, issue=issues)
def test_bag_code_round_trips(bag_id, issue):
    assert parse_bag_code(bag_code(bag_id, issue)) == (bag_id, issue)


def test_bag_code_is_bag_id_issue_and_check_character():
    code = bag_code("7K3M9QX2TR", 1)
    assert code == "7K3M9QX2TR01" + check_character("7K3M9QX2TR01")


def test_a_reprint_gets_a_new_code():
    assert bag_code("7K3M9QX2TR", 1) != bag_code("7K3M9QX2TR", 2)


def test_bag_code_refuses_issue_number_zero():
    with pytest.raises(ScanError, match="01 to 99"):
        bag_code("7K3M9QX2TR", 0)


def test_bag_id_with_a_letter_o_is_refused():
    with pytest.raises(ScanError, match="no I, L, O or U"):
        bag_code("7K3M9QXOTR", 1)


# --- patient, material lot, location -----------------------------------------------------------


def test_patient_code_adds_the_check_character_of_the_digits_without_hyphen():
    assert patient_code("01-023") == "01-023" + check_character("01023")


def test_patient_code_refuses_a_subject_id_without_hyphen():
    with pytest.raises(ScanError, match="like 01-023"):
        patient_code("01023")


def test_patient_identification_carries_the_wristband_code():
    assert patient_identification("01-023") == "&#0007" + patient_code("01-023")


def test_material_lot_code_is_ml_six_digits_and_check_character():
    assert material_lot_code(42) == "ML000042" + check_character("ML000042")


def test_location_code_is_l_dash_and_the_name():
    assert location_code("ward-a") == "L-WARD-A"


def test_location_code_refuses_a_one_character_name():
    with pytest.raises(ScanError, match="2 to 20"):
        location_code("A")


# --- parse_scan: every kind round-trips --------------------------------------------------------


def test_scan_kinds_are_the_ten_the_api_names():
    assert set(typing.get_args(ScanKind)) == {
        "din", "product_code", "expiry", "collection_time", "production_time",
        "bag", "patient", "staff", "material_lot", "location",
    }  # fmt: skip


@settings(max_examples=100)
@given(din=dins)
def test_scan_reads_din_barcode_data(din):
    scan = parse_scan(din.barcode_data)
    assert (scan.kind, scan.id, scan.fields["form"]) == ("din", din.text, "barcode")


@settings(max_examples=100)
@given(din=dins)
def test_scan_reads_din_keyboard_entry_with_its_check(din):
    scan = parse_scan(din.keyboard)
    assert (scan.kind, scan.id, scan.check_ok) == ("din", din.text, True)


@settings(max_examples=100)
@given(
    product=st.builds(
        ProductCode,
        description_code=st.from_regex(r"S[0-9]{4}", fullmatch=True),
        collection_type=st.from_regex(r"[A-Z0-9]", fullmatch=True),
    )
)
def test_scan_reads_product_code(product):
    scan = parse_scan(product.barcode_data)
    assert (scan.kind, scan.id) == ("product_code", product.text)


@settings(max_examples=100)
@given(
    kind=st.sampled_from(["expiry", "collection_time", "production_time"]),
    at=st.datetimes(
        min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)
    ).map(lambda dt: dt.replace(second=0, microsecond=0)),
)
def test_scan_reads_date_and_time_in_the_facility_zone(kind, at):
    scan = parse_scan(format_datetime(kind, at, ZoneInfo("Asia/Shanghai")))
    assert (scan.kind, scan.fields["at"]) == (kind, at)


def test_scan_reads_date_and_time_in_the_zone_it_is_given():
    berlin = ZoneInfo("Europe/Berlin")
    at = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert parse_scan(format_datetime("expiry", at, berlin), tz=berlin).fields["at"] == at


@settings(max_examples=100)
@given(bag_id=bag_ids, issue=issues)
def test_scan_reads_bag_code(bag_id, issue):
    code = bag_code(bag_id, issue)
    scan = parse_scan(code)
    assert scan == Scan("bag", bag_id, True, {"issue": issue, "code": code})


@settings(max_examples=100)
@given(subject_id=subject_ids)
def test_scan_reads_wristband_code(subject_id):
    scan = parse_scan(patient_code(subject_id))
    assert (scan.kind, scan.id, scan.check_ok) == ("patient", subject_id, True)


@settings(max_examples=100)
@given(subject_id=subject_ids)
def test_scan_reads_isbt128_patient_identification(subject_id):
    scan = parse_scan(patient_identification(subject_id))
    assert (scan.kind, scan.id, scan.fields["form"]) == ("patient", subject_id, "isbt128")


@settings(max_examples=100)
@given(
    facility=st.from_regex(r"[A-NP-Z1-9][0-9]{4}", fullmatch=True),
    number=st.from_regex(r"[0-9A-Z]{6}", fullmatch=True),
)
def test_scan_reads_staff_badge(facility, number):
    scan = parse_scan(StaffId(facility, number).barcode_data)
    assert (scan.kind, scan.fields["facility"], scan.fields["number"]) == (
        "staff",
        facility,
        number,
    )


@settings(max_examples=100)
@given(n=st.integers(0, 999_999))
def test_scan_reads_material_lot_code(n):
    scan = parse_scan(material_lot_code(n))
    assert (scan.kind, scan.fields["number"]) == ("material_lot", n)


def test_scan_reads_supplier_lot_symbol_as_material_lot():
    scan = parse_scan("&)LOT0012345")
    assert (scan.kind, scan.fields["symbol"], scan.fields["lot"]) == (
        "material_lot",
        "container_lot",
        "LOT0012345",
    )


@settings(max_examples=100)
@given(name=st.from_regex(r"[A-Z0-9][A-Z0-9-]{1,19}", fullmatch=True))
def test_scan_reads_location_code(name):
    scan = parse_scan(location_code(name))
    assert (scan.kind, scan.id, scan.check_ok) == ("location", "L-" + name, False)


# --- parse_scan: normalising and refusing ------------------------------------------------------


def test_scan_strips_surrounding_whitespace_and_reads_lower_case():
    code = bag_code("7K3M9QX2TR", 3)
    assert parse_scan(f"  {code.lower()}\n").id == "7K3M9QX2TR"


@settings(max_examples=200)
@given(raw=st.text())
def test_scan_of_arbitrary_text_raises_only_scan_error(raw):
    try:
        parse_scan(raw)
    except ScanError as error:
        assert error.message


@settings(max_examples=200)
@given(raw=st.text(alphabet="=&<>*}'()#-L M0123456789ABGHKSTVWXYZ", max_size=24))
def test_scan_of_code_like_text_raises_only_scan_error(raw):
    try:
        parse_scan(raw)
    except ScanError as error:
        assert error.message


@settings(max_examples=30)
@given(din=dins)
def test_every_single_substitution_in_a_typed_din_is_detected(din):
    # ISBT 128: the check character covers the 13 DIN characters, not the flags.
    flags = range(len(din.keyboard) - 4, len(din.keyboard) - 2)
    assert all(_refused(raw) for raw in _substitutions(din.keyboard, skip=flags))


def test_a_typo_in_the_flags_of_a_typed_din_still_names_the_same_donation():
    din = Din("G1234", 26, 123456)
    typed = din.keyboard.replace(" 00 ", " 01 ")
    assert parse_scan(typed).id == din.text


@settings(max_examples=50)
@given(bag_id=bag_ids, issue=issues)
def test_every_single_substitution_in_a_bag_code_is_detected(bag_id, issue):
    assert all(_refused(raw) for raw in _substitutions(bag_code(bag_id, issue)))


@settings(max_examples=50)
@given(subject_id=subject_ids)
def test_every_single_substitution_in_a_wristband_code_is_detected(subject_id):
    assert all(_refused(raw) for raw in _substitutions(patient_code(subject_id)))


def test_scan_of_nothing_says_nothing_was_scanned():
    with pytest.raises(ScanError, match=re.escape("Nothing was scanned.")):
        parse_scan("   ")


def test_scan_of_an_unknown_shape_says_so():
    with pytest.raises(ScanError, match=re.escape("Not a known kind of code.")):
        parse_scan("hello")


def test_scan_of_an_isbt128_structure_we_do_not_use_says_so():
    with pytest.raises(ScanError, match="not one this system reads"):
        parse_scan("=%5100")


def test_scan_of_a_din_with_12_characters_names_the_length():
    with pytest.raises(ScanError, match=re.escape("A DIN has 13 characters; this one has 12.")):
        parse_scan("G1234 26 12345 H")


def test_scan_of_a_bag_code_with_14_characters_names_the_length():
    message = "A bag code has 13 characters; this one has 14."
    with pytest.raises(ScanError, match=re.escape(message)):
        parse_scan(bag_code("7K3M9QX2TR", 1) + "A")


def test_scan_of_a_bag_code_with_a_wrong_check_character_says_so():
    code = bag_code("7K3M9QX2TR", 1)
    wrong = next(c for c in CHECK_ALPHABET if c != code[-1])
    with pytest.raises(ScanError, match="check character does not match"):
        parse_scan(code[:-1] + wrong)


def test_scan_of_a_bag_code_with_letter_o_for_zero_points_at_it():
    with pytest.raises(ScanError, match="I, L, O or U"):
        parse_scan(bag_code("7K3M90X2TR", 1).replace("0", "O", 1))


def test_scan_of_a_material_lot_code_of_8_characters_names_the_length():
    with pytest.raises(ScanError, match="this one has 8"):
        parse_scan(material_lot_code(42)[:-1])


def test_scan_of_a_wristband_without_check_character_explains_the_form():
    with pytest.raises(ScanError, match="followed by its check character"):
        parse_scan("01-02")
