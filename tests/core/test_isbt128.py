"""ISBT 128 structures and the mod 37-2 check character (SPEC 3)."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from ucmsc_lims.core.isbt128 import (
    CHECK_ALPHABET,
    Din,
    ProductCode,
    ScanError,
    StaffId,
    check_character,
    check_value,
    format_datetime,
    format_patient_identification,
    parse_datetime,
    parse_din,
    parse_din_barcode,
    parse_din_keyboard,
    parse_patient_identification,
    parse_product_code,
    parse_staff,
    parse_supplier_symbol,
)

BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")

checked_chars = st.text(alphabet=CHECK_ALPHABET[:36], min_size=1, max_size=20)
facilities = st.from_regex(r"[A-NP-Z1-9][0-9]{4}", fullmatch=True)


def _plain_flags(din: Din) -> bool:
    """Flags 60-96 carry a check value; the strategy leaves them to their own test."""
    return not (din.flags.isdigit() and 60 <= int(din.flags) <= 96)


dins = st.builds(
    Din,
    facility=facilities,
    year=st.integers(0, 99),
    sequence=st.integers(0, 999_999),
    flags=st.from_regex(r"[0-9A-Z]{2}", fullmatch=True),
).filter(_plain_flags)


# --- check character ---------------------------------------------------------------------------


def test_check_value_of_the_spec_test_vector_is_17():
    assert check_value("G123498654321") == 17


def test_check_character_of_the_spec_test_vector_is_h():
    assert check_character("G123498654321") == "H"


@settings(max_examples=200)
@given(chars=checked_chars, data=st.data())
def test_check_character_changes_with_any_single_substitution(chars, data):
    position = data.draw(st.integers(0, len(chars) - 1))
    other = data.draw(st.sampled_from(CHECK_ALPHABET[:36]).filter(lambda c: c != chars[position]))
    mutated = chars[:position] + other + chars[position + 1 :]
    assert check_character(mutated) != check_character(chars)


@settings(max_examples=200)
@given(chars=checked_chars.filter(lambda s: len(s) >= 2), data=st.data())
def test_check_character_changes_when_two_neighbours_are_swapped(chars, data):
    position = data.draw(st.integers(0, len(chars) - 2))
    swapped = chars[:position] + chars[position + 1] + chars[position] + chars[position + 2 :]
    assume(swapped != chars)
    assert check_character(swapped) != check_character(chars)


def test_check_character_refuses_a_character_outside_0_9_and_a_z():
    with pytest.raises(ScanError, match="cannot be part of a checked code"):
        check_character("G12-34")


# --- DIN ---------------------------------------------------------------------------------------


def test_din_text_is_facility_year_and_six_digit_sequence():
    assert Din("G1234", 26, 42).text == "G123426000042"


def test_din_barcode_data_is_equals_sign_13_characters_and_flags_without_check():
    din = Din("G1234", 26, 42, "07")
    assert din.barcode_data == "=" + din.text + "07"


def test_din_keyboard_form_ends_with_the_check_character_of_the_13_characters():
    din = Din("G1234", 26, 42)
    assert din.keyboard.replace(" ", "") == din.text + "00" + check_character(din.text)


@settings(max_examples=200)
@given(din=dins)
def test_both_din_forms_parse_to_the_same_din(din):
    assert parse_din(din.barcode_data) == parse_din(din.keyboard) == din


@settings(max_examples=100)
@given(din=dins)
def test_din_keyboard_entry_may_leave_out_the_flags(din):
    assert parse_din(din.text + din.check) == Din(din.facility, din.year, din.sequence)


def test_din_keyboard_entry_is_read_in_lower_case_with_spaces():
    din = Din("G1234", 26, 123456)
    assert parse_din_keyboard("  " + din.keyboard.lower() + " ") == din


def test_din_keyboard_entry_with_a_wrong_check_character_is_refused():
    din = Din("G1234", 26, 123456)
    wrong = next(c for c in CHECK_ALPHABET if c != din.check)
    with pytest.raises(ScanError, match="check character does not match"):
        parse_din_keyboard(din.text + wrong)


def test_din_keyboard_entry_with_12_characters_names_the_length():
    with pytest.raises(ScanError, match=re.escape("A DIN has 13 characters; this one has 12.")):
        parse_din_keyboard("G12342612345H")


def test_din_keyboard_entry_without_check_character_asks_for_it():
    with pytest.raises(ScanError, match="ends with its check character"):
        parse_din_keyboard("G123426123456")


def test_din_barcode_with_the_wrong_length_names_the_length():
    with pytest.raises(ScanError, match="15 characters after '='; this one holds 13"):
        parse_din_barcode("=G123426123456")


def test_din_whose_facility_starts_with_o_is_refused():
    with pytest.raises(ScanError, match="facility id"):
        parse_din_barcode("=O12342612345600")


def test_din_with_a_letter_in_its_sequence_is_refused():
    with pytest.raises(ScanError, match="8 digits"):
        parse_din_barcode("=G1234261234A600")


def test_din_flags_carrying_the_right_check_value_are_accepted():
    din = Din("G1234", 26, 123456)
    flags = f"{60 + check_value(din.text)}"
    assert parse_din_barcode("=" + din.text + flags).flags == flags


def test_din_flags_carrying_a_wrong_check_value_are_refused():
    din = Din("G1234", 26, 123456)
    flags = f"{60 + (check_value(din.text) + 1) % 37}"
    with pytest.raises(ScanError, match="check character does not match"):
        parse_din_barcode("=" + din.text + flags)


def test_din_refuses_a_sequence_of_seven_digits():
    with pytest.raises(ScanError, match="6 digits"):
        Din("G1234", 26, 1_000_000)


# --- Product code ------------------------------------------------------------------------------

products = st.builds(
    ProductCode,
    description_code=st.from_regex(r"[A-Z][A-Z0-9]{4}", fullmatch=True),
    collection_type=st.from_regex(r"[A-Za-z0-9]", fullmatch=True),
    division=st.from_regex(r"[A-Z0-9][a-z0-9]", fullmatch=True),
)


@settings(max_examples=200)
@given(product=products)
def test_product_code_round_trips_through_its_barcode_data(product):
    assert parse_product_code(product.barcode_data) == product


def test_product_code_division_case_is_restored_when_typed_in_capitals():
    assert parse_product_code("=<S1234VAB").division == "Ab"


def test_product_code_keeps_the_case_of_the_collection_type():
    assert parse_product_code("=<S1234v00").collection_type == "v"


def test_product_code_of_seven_characters_names_the_length():
    with pytest.raises(ScanError, match="8 characters after '=<'; this one has 7"):
        parse_product_code("=<S1234V0")


# --- Date and time -----------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2000, 1, 2), max_value=datetime(2998, 12, 30), timezones=st.just(UTC)
).map(lambda dt: dt.replace(second=0, microsecond=0))
zones = st.sampled_from([BERLIN, SHANGHAI, NEW_YORK, ZoneInfo("UTC")])
kinds = st.sampled_from(["expiry", "collection_time", "production_time"])


def _ambiguous(at: datetime, tz: ZoneInfo) -> bool:
    wall = at.astimezone(tz).replace(tzinfo=None)
    earlier, later = wall.replace(tzinfo=tz, fold=0), wall.replace(tzinfo=tz, fold=1)
    return earlier.utcoffset() != later.utcoffset()


@settings(max_examples=200)
@given(kind=kinds, at=instants, tz=zones)
@example(kind="expiry", at=datetime(2026, 3, 29, 1, 0, tzinfo=UTC), tz=BERLIN)
@example(kind="expiry", at=datetime(2026, 10, 25, 2, 0, tzinfo=UTC), tz=BERLIN)
@example(kind="collection_time", at=datetime(2028, 12, 31, 15, 59, tzinfo=UTC), tz=SHANGHAI)
def test_date_and_time_round_trips_at_minute_resolution(kind, at, tz):
    assume(not _ambiguous(at, tz))
    assert parse_datetime(format_datetime(kind, at, tz), tz) == (kind, at)


@settings(max_examples=100)
@given(kind=kinds, at=instants, tz=zones)
@example(kind="expiry", at=datetime(2026, 10, 25, 1, 30, tzinfo=UTC), tz=BERLIN)
def test_date_and_time_reprints_the_same_symbol_after_parsing(kind, at, tz):
    code = format_datetime(kind, at, tz)
    assert format_datetime(kind, parse_datetime(code, tz)[1], tz) == code


def test_a_local_time_that_occurs_twice_is_read_as_the_earlier_instant():
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET, after clocks went back
    code = format_datetime("expiry", second, BERLIN)
    assert parse_datetime(code, BERLIN)[1] == second - timedelta(hours=1)


def test_a_local_time_skipped_by_the_clocks_is_refused():
    with pytest.raises(ScanError, match="never happened"):
        parse_datetime("&>0260880230", BERLIN)  # 2026-03-29 02:30 in Berlin


def test_expiry_is_printed_in_local_time_of_the_facility():
    at = datetime(2026, 1, 1, 16, 5, tzinfo=UTC)
    assert format_datetime("expiry", at, SHANGHAI) == "&>0260020005"


def test_century_digit_zero_is_the_years_2000_to_2099():
    assert parse_datetime("&>0183652359", ZoneInfo("UTC"))[1] == datetime(
        2018, 12, 31, 23, 59, tzinfo=UTC
    )


def test_day_366_of_a_common_year_is_refused():
    with pytest.raises(ScanError, match="001 to 365; this one is 366"):
        parse_datetime("&*0263661200", SHANGHAI)


def test_hour_24_is_refused():
    with pytest.raises(ScanError, match="does not exist on a clock"):
        parse_datetime("&}0260012400", SHANGHAI)


def test_formatting_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        format_datetime("expiry", datetime(2026, 1, 1), SHANGHAI)


# --- Staff, supplier symbols, patient identification -------------------------------------------


@settings(max_examples=100)
@given(facility=facilities, number=st.from_regex(r"[0-9A-Z]{6}", fullmatch=True))
def test_staff_badge_round_trips(facility, number):
    staff = StaffId(facility, number)
    assert parse_staff(staff.barcode_data) == staff


def test_staff_badge_with_a_short_number_names_the_length():
    with pytest.raises(ScanError, match="11 characters after =' ; this one has 10"):
        parse_staff("='G1234AB12C")


def test_container_catalogue_symbol_splits_type_manufacturer_and_catalogue():
    symbol = parse_supplier_symbol("=)1FW1234567")
    assert (symbol.container_type, symbol.manufacturer, symbol.catalogue) == ("1", "FW", "1234567")


def test_item_catalogue_symbol_splits_manufacturer_and_catalogue():
    symbol = parse_supplier_symbol("=-AB12345678")
    assert (symbol.manufacturer, symbol.catalogue) == ("AB", "12345678")


@pytest.mark.parametrize("identifier", ["&)", "&-"])
def test_lot_symbols_carry_the_lot_number(identifier):
    assert parse_supplier_symbol(identifier + "LOT0012345").lot == "LOT0012345"


def test_supplier_symbol_of_the_wrong_length_names_the_length():
    with pytest.raises(ScanError, match="10 characters after &\\); this one has 6"):
        parse_supplier_symbol("&)LOT001")


def test_patient_identification_round_trips():
    data = format_patient_identification("01-0238")
    assert parse_patient_identification(data) == ("00", "01-0238")


def test_patient_identification_whose_length_disagrees_is_refused():
    with pytest.raises(ScanError, match="says it holds 8 characters but holds 7"):
        parse_patient_identification("&#000801-0238")
