"""SPEC 4.4: the allocation list, generated from a secret seed or imported from a CSV."""

from __future__ import annotations

from collections import Counter
from itertools import groupby

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ucmsc_lims.core.errors import DomainError
from ucmsc_lims.trial.randomization import (
    Allocation,
    AllocationImportError,
    export_allocation_csv,
    format_randomization_number,
    generate_allocation,
    import_allocation_csv,
)

SEED = b"\x01" * 32
OTHER_SEED = b"\x02" * 32
HEADER = "stratum,randomization_number,arm\n"

seeds = st.binary(min_size=16, max_size=48)
block_size_sets = st.sets(st.sampled_from([2, 4, 6, 8, 10]), min_size=1).map(sorted)
counts = st.integers(min_value=1, max_value=60)


def blocks_of(allocations: list[Allocation]) -> list[list[Allocation]]:
    return [
        list(block)
        for _, block in groupby(allocations, key=lambda row: (row.stratum, row.block_number))
    ]


def import_errors(text: str) -> list[tuple[int, str]]:
    with pytest.raises(AllocationImportError) as refused:
        import_allocation_csv(text)
    return refused.value.errors


# --- generation --------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_list():
    first = generate_allocation(SEED, ["A", "B", "C"], 40)
    again = generate_allocation(bytes(SEED), ["A", "B", "C"], 40)

    assert first == again


def test_another_seed_gives_another_list():
    first = generate_allocation(SEED, ["A"], 40)
    other = generate_allocation(OTHER_SEED, ["A"], 40)

    assert [row.arm for row in first] != [row.arm for row in other]


def test_the_list_for_a_known_seed_never_changes():
    # A list already issued must be reproducible on any later release or Python version.
    allocations = generate_allocation(b"0" * 16, ["A"], 7)

    assert "".join(row.arm for row in allocations) == "BABBAABABA"
    assert [row.block_size for row in allocations] == [6] * 6 + [4] * 4


@settings(max_examples=150)
@given(seed=seeds, sizes=block_size_sets, per_stratum=counts)
def test_every_block_is_exactly_balanced(seed, sizes, per_stratum):
    allocations = generate_allocation(seed, ["A", "B"], per_stratum, sizes)

    for block in blocks_of(allocations):
        arms = Counter(row.arm for row in block)
        assert len(block) == block[0].block_size
        assert arms["A"] == arms["B"]


@settings(max_examples=100)
@given(seed=seeds, sizes=block_size_sets, per_stratum=counts)
def test_block_sizes_are_drawn_from_the_allowed_set(seed, sizes, per_stratum):
    allocations = generate_allocation(seed, ["A"], per_stratum, sizes)

    assert {row.block_size for row in allocations} <= set(sizes)


@settings(max_examples=100)
@given(seed=seeds, sizes=block_size_sets, per_stratum=counts)
def test_each_stratum_gets_the_numbers_asked_for_and_no_more_than_one_extra_block(
    seed, sizes, per_stratum
):
    allocations = generate_allocation(seed, ["A", "B"], per_stratum, sizes)

    for stratum in ("A", "B"):
        numbers = [row.randomization_number for row in allocations if row.stratum == stratum]
        assert numbers == list(range(1, len(numbers) + 1))
        assert per_stratum <= len(numbers) < per_stratum + max(sizes)


def test_every_allowed_block_size_is_used_in_a_long_list():
    allocations = generate_allocation(SEED, ["A"], 300, (2, 4, 6))

    assert {row.block_size for row in allocations} == {2, 4, 6}


def test_the_order_of_arms_within_a_block_varies():
    allocations = generate_allocation(SEED, ["A"], 100, (2,))

    orders = {"".join(row.arm for row in block) for block in blocks_of(allocations)}
    assert orders == {"AB", "BA"}


def test_block_numbers_count_from_one_within_each_stratum():
    allocations = generate_allocation(SEED, ["A", "B"], 20)

    for stratum in ("A", "B"):
        block_numbers = [row.block_number for row in allocations if row.stratum == stratum]
        assert sorted(set(block_numbers)) == list(range(1, max(block_numbers) + 1))


def test_adding_a_stratum_does_not_change_another_stratums_list():
    alone = generate_allocation(SEED, ["A"], 30)
    with_others = generate_allocation(SEED, ["C", "A", "B"], 30)

    assert [row for row in with_others if row.stratum == "A"] == alone


def test_strata_with_the_same_seed_get_different_lists():
    allocations = generate_allocation(SEED, ["A", "B"], 40)

    arms_a = [row.arm for row in allocations if row.stratum == "A"][:40]
    arms_b = [row.arm for row in allocations if row.stratum == "B"][:40]
    assert arms_a != arms_b


def test_the_order_in_which_block_sizes_are_given_does_not_change_the_list():
    assert generate_allocation(SEED, ["A"], 30, (6, 2, 4)) == generate_allocation(
        SEED, ["A"], 30, (2, 4, 6)
    )


def test_an_unstratified_trial_uses_a_single_empty_stratum():
    allocations = generate_allocation(SEED, [""], 5)

    assert {row.stratum for row in allocations} == {""}
    assert allocations[0].label == "001"


def test_the_seed_appears_neither_in_the_list_nor_in_its_export():
    seed = b"a-secret-seed-of-the-pharmacist"
    allocations = generate_allocation(seed, ["A"], 12)

    assert seed.decode() not in repr(allocations)
    assert seed.decode() not in export_allocation_csv(allocations)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((b"short", ["A"], 10), "at least 16 random bytes"),
        ((SEED, [], 10), "at least one stratum"),
        ((SEED, ["A", "A"], 10), "only once"),
        ((SEED, [" A"], 10), "spaces at its start or end"),
        ((SEED, ["A"], 0), "at least one randomization number"),
        ((SEED, ["A"], 10, (2, 3)), "even numbers"),
        ((SEED, ["A"], 10, ()), "even numbers"),
    ],
)
def test_generation_refuses_arguments_that_cannot_make_a_sound_list(arguments, message):
    with pytest.raises(ValueError, match=message):
        generate_allocation(*arguments)


# --- randomization number format ---------------------------------------------------------------


def test_a_randomization_number_is_shown_with_its_stratum():
    assert format_randomization_number("A", 1) == "A-001"


def test_an_unstratified_randomization_number_is_shown_alone():
    assert format_randomization_number("", 42) == "042"


def test_a_randomization_number_past_999_keeps_all_its_digits():
    assert format_randomization_number("C", 1234) == "C-1234"


# --- import ------------------------------------------------------------------------------------


def test_a_valid_list_is_imported_in_stratum_and_number_order():
    text = "\ufeff" + HEADER + "B,2,A\nA,1,A\nB,1,B\nA,2,B\n"

    allocations = import_allocation_csv(text)

    assert [(row.label, row.arm) for row in allocations] == [
        ("B-001", "B"),
        ("B-002", "A"),
        ("A-001", "A"),
        ("A-002", "B"),
    ]


def test_an_empty_file_is_refused():
    assert import_errors("  \n\n") == [(1, "the file is empty")]


def test_a_file_with_only_a_header_is_refused():
    assert import_errors(HEADER) == [(1, "the file has a header but no allocations")]


def test_missing_columns_are_named():
    assert import_errors("stratum,arm\nA,A\n") == [(1, "missing column(s): randomization_number")]


def test_an_unknown_column_is_refused():
    errors = import_errors("stratum,randomization_number,arm,treatment\nA,1,A,cells\n")

    assert errors == [
        (
            1,
            "unknown column(s): treatment; expected stratum, randomization_number, arm"
            " and optionally block_number, block_size",
        )
    ]


def test_a_block_number_without_a_block_size_is_refused():
    errors = import_errors("stratum,randomization_number,arm,block_number\nA,1,A,1\n")

    assert errors == [(1, "block_number and block_size must be given together")]


def test_an_unknown_arm_is_refused_on_its_line():
    errors = import_errors(HEADER + "A,1,A\nA,2,C\n")

    assert errors == [(3, "arm must be A or B, not 'C'")]


def test_a_lowercase_arm_is_refused():
    assert import_errors(HEADER + "A,1,b\nA,2,A\n") == [(2, "arm must be A or B, not 'b'")]


def test_a_number_that_is_not_a_whole_number_is_refused():
    errors = import_errors(HEADER + "A,1,A\nA,2.0,B\n")

    assert errors == [(3, "randomization number must be a whole number, not '2.0'")]


def test_a_number_below_one_is_refused():
    assert import_errors(HEADER + "A,0,A\n") == [
        (2, "randomization number must be 1 or more, not 0")
    ]


def test_a_row_with_the_wrong_number_of_values_is_refused():
    assert import_errors(HEADER + "A,1,A\nA,2\n") == [(3, "2 values, but the header has 3")]


def test_a_duplicate_number_in_a_stratum_names_the_first_line():
    errors = import_errors(HEADER + "A,1,A\nA,2,B\nA,1,B\n")

    assert errors == [(4, "randomization number 1 of stratum 'A' is already on line 2")]


def test_the_same_number_in_two_strata_is_accepted():
    allocations = import_allocation_csv(HEADER + "A,1,A\nB,1,B\n")

    assert [row.label for row in allocations] == ["A-001", "B-001"]


def test_a_gap_in_the_numbers_is_refused_at_the_number_after_it():
    errors = import_errors(HEADER + "A,1,A\nA,2,B\nA,5,A\nA,6,B\n")

    assert errors == [
        (
            4,
            "stratum 'A' skips randomization number(s) 3, 4; "
            "numbers must run 1, 2, 3… without gaps",
        )
    ]


def test_numbers_that_do_not_start_at_one_are_refused():
    errors = import_errors(HEADER + ",2,A\n,3,B\n")

    assert errors == [
        (2, "the list skips randomization number(s) 1; numbers must run 1, 2, 3… without gaps")
    ]


def test_an_imbalance_beyond_one_block_is_refused():
    rows = "".join(f"A,{n},A\n" for n in range(1, 5))

    errors = import_errors(HEADER + rows)

    assert errors == [
        (
            5,
            "stratum 'A' has 4 on arm A and 0 on arm B; a difference of 4 is more than "
            "one block allows (3)",
        )
    ]


def test_an_imbalance_within_one_block_is_accepted():
    rows = "A,1,A\nA,2,A\nA,3,A\n"

    assert len(import_allocation_csv(HEADER + rows)) == 3


def test_the_largest_block_given_sets_the_imbalance_allowed():
    header = "stratum,randomization_number,arm,block_number,block_size\n"
    rows = "".join(f"A,{n},A,1,8\n" for n in range(1, 5))

    assert len(import_allocation_csv(header + rows)) == 4


def test_a_full_block_that_is_not_balanced_is_refused():
    header = "stratum,randomization_number,arm,block_number,block_size\n"
    rows = "A,1,A,1,4\nA,2,A,1,4\nA,3,A,1,4\nA,4,B,1,4\n"

    errors = import_errors(header + rows)

    assert errors == [(5, "block 1 of stratum 'A' is not balanced: 3 on arm A and 1 on arm B")]


def test_a_block_with_more_rows_than_its_size_is_refused():
    header = "stratum,randomization_number,arm,block_number,block_size\n"
    rows = "A,1,A,1,2\nA,2,B,1,2\nA,3,A,1,2\n"

    assert import_errors(header + rows) == [
        (4, "block 1 of stratum 'A' has 3 rows but a size of 2")
    ]


def test_a_stratum_with_spaces_around_it_is_refused():
    errors = import_errors(HEADER + "A ,1,A\n")

    assert errors == [(2, "stratum 'A ' has spaces at its start or end")]


def test_every_problem_in_a_file_is_reported_at_once():
    errors = import_errors(HEADER + "A,1,X\nA,two,B\nA,3,A\nA,3,B\n")

    assert [line for line, _ in errors] == [2, 3, 5]


def test_an_import_error_is_a_domain_error_whose_message_lists_the_lines():
    with pytest.raises(DomainError) as refused:
        import_allocation_csv(HEADER + "A,1,X\n")

    assert str(refused.value) == (
        "The allocation list was not imported: line 2: arm must be A or B, not 'X'"
    )


# --- round trip --------------------------------------------------------------------------------


@settings(max_examples=60)
@given(
    seed=seeds,
    strata=st.lists(st.sampled_from(["", "A", "B", "C", "Child-Pugh, B"]), min_size=1, unique=True),
    sizes=block_size_sets,
    per_stratum=counts,
)
def test_an_exported_generated_list_imports_unchanged(seed, strata, sizes, per_stratum):
    allocations = generate_allocation(seed, strata, per_stratum, sizes)

    assert import_allocation_csv(export_allocation_csv(allocations)) == allocations


def test_a_list_imported_without_blocks_exports_and_imports_unchanged():
    allocations = import_allocation_csv(HEADER + "A,1,B\nA,2,A\n,1,A\n")

    text = export_allocation_csv(allocations)

    assert text.splitlines()[0] == HEADER.strip()
    assert import_allocation_csv(text) == allocations
