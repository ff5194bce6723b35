"""The allocation list: generated from a secret seed or imported from a statistician's CSV."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, cast

from ucmsc_lims.core import spreadsheet
from ucmsc_lims.core.errors import DomainError

Arm = Literal["A", "B"]
ARMS: tuple[Arm, ...] = ("A", "B")
DEFAULT_BLOCK_SIZES: tuple[int, ...] = (2, 4, 6)
# A seed shorter than this could be found by trying them all, which would unblind the list.
MIN_SEED_BYTES = 16

REQUIRED_COLUMNS = ("stratum", "randomization_number", "arm")
BLOCK_COLUMNS = ("block_number", "block_size")


@dataclass(frozen=True)
class Allocation:
    """One row of the list: the arm behind a randomization number in a stratum.

    `block_number` and `block_size` are None for an imported list that does not give them.
    """

    stratum: str
    randomization_number: int
    arm: Arm
    block_number: int | None = None
    block_size: int | None = None

    @property
    def label(self) -> str:
        return format_randomization_number(self.stratum, self.randomization_number)


class AllocationImportError(DomainError):
    """A CSV that cannot be used as an allocation list; `errors` holds every problem found."""

    def __init__(self, errors: list[tuple[int, str]]):
        self.errors = sorted(errors)
        lines = "; ".join(f"line {number}: {message}" for number, message in self.errors)
        super().__init__(f"The allocation list was not imported: {lines}")


def format_randomization_number(stratum: str, number: int) -> str:
    """'A-001' for stratum 'A', '001' when the trial is not stratified (stratum '')."""
    digits = f"{number:03d}"
    return f"{stratum}-{digits}" if stratum else digits


# --- generation --------------------------------------------------------------------------------


class _AllocationStream:
    """Deterministic random integers for one stratum, keyed by HMAC-SHA256(seed, stratum).

    Not the `random` module: its global state is shared with any other caller (so a list would
    not reproduce), Mersenne Twister output reveals its state (so a few allocations would predict
    the rest and break concealment), and its `choice`/`shuffle` algorithms may change between
    Python versions. HMAC-SHA256 in counter mode is unpredictable without the seed and gives the
    same list on any Python. One key per stratum keeps strata independent (SPEC 4.4).
    """

    def __init__(self, seed: bytes, stratum: str):
        self._key = hmac.digest(seed, stratum.encode("utf-8"), hashlib.sha256)
        self._counter = 0
        self._pool = b""

    def _take(self, count: int) -> bytes:
        while len(self._pool) < count:
            block = self._counter.to_bytes(8, "big")
            self._pool += hmac.digest(self._key, block, hashlib.sha256)
            self._counter += 1
        taken, self._pool = self._pool[:count], self._pool[count:]
        return taken

    def below(self, bound: int) -> int:
        """A uniform integer in [0, bound), by rejection so that no value is favoured."""
        space = 1 << 64
        limit = space - space % bound
        while True:
            value = int.from_bytes(self._take(8), "big")
            if value < limit:
                return value % bound


def _check_generation_arguments(
    seed: bytes, strata: Sequence[str], per_stratum: int, sizes: Sequence[int]
) -> None:
    if not isinstance(seed, bytes) or len(seed) < MIN_SEED_BYTES:
        raise ValueError(f"the seed must be at least {MIN_SEED_BYTES} random bytes")
    if not strata:
        raise ValueError("give at least one stratum ('' when the trial is not stratified)")
    if len(set(strata)) != len(strata):
        raise ValueError("each stratum may be named only once")
    for stratum in strata:
        if stratum != stratum.strip():
            raise ValueError(f"stratum {stratum!r} has spaces at its start or end")
    if per_stratum < 1:
        raise ValueError("each stratum needs at least one randomization number")
    if not sizes or any(size < 2 or size % 2 for size in sizes):
        raise ValueError("block sizes must be even numbers of 2 or more, for a 1:1 allocation")


def _stratum_allocations(
    seed: bytes, stratum: str, per_stratum: int, sizes: Sequence[int]
) -> Iterator[Allocation]:
    stream = _AllocationStream(seed, stratum)
    number = 0
    block_number = 0
    # SPEC 4.4: the last block is completed, so every stratum's list is exactly balanced.
    while number < per_stratum:
        block_number += 1
        size = sizes[stream.below(len(sizes))]
        arms: list[Arm] = ["A"] * (size // 2) + ["B"] * (size // 2)
        # Fisher-Yates: every order of the block's arms is equally likely.
        for i in range(size - 1, 0, -1):
            j = stream.below(i + 1)
            arms[i], arms[j] = arms[j], arms[i]
        for arm in arms:
            number += 1
            yield Allocation(stratum, number, arm, block_number, size)


def generate_allocation(
    seed: bytes,
    strata: list[str],
    per_stratum: int,
    block_sizes: Sequence[int] = DEFAULT_BLOCK_SIZES,
) -> list[Allocation]:
    """SPEC 4.4: a 1:1 list in permuted blocks of random size, reproducible from a secret seed.

    Each stratum gets at least `per_stratum` numbers (more when its last block overruns).
    The seed is used only to derive keys; it is never logged or kept in the result.
    """
    # Sorted and deduplicated so that (4, 2) and (2, 4) name the same design and the same list.
    sizes = sorted(set(block_sizes))
    _check_generation_arguments(seed, strata, per_stratum, sizes)
    return [
        allocation
        for stratum in strata
        for allocation in _stratum_allocations(seed, stratum, per_stratum, sizes)
    ]


# --- CSV exchange with the statistician ----------------------------------------------------------


def export_allocation_csv(allocations: Iterable[Allocation]) -> str:
    """The list as CSV that `import_allocation_csv` reads back unchanged.

    Block columns are written only when every row knows its block. A stratum that looks like
    a formula is written quoted (core.spreadsheet) and the import takes the quote off again.
    """
    rows = list(allocations)
    with_blocks = bool(rows) and all(
        row.block_number is not None and row.block_size is not None for row in rows
    )
    out = io.StringIO()
    writer = spreadsheet.writer(out, lineterminator="\n")
    writer.writerow(REQUIRED_COLUMNS + BLOCK_COLUMNS if with_blocks else REQUIRED_COLUMNS)
    for row in rows:
        values: list[object] = [row.stratum, row.randomization_number, row.arm]
        if with_blocks:
            values += [row.block_number, row.block_size]
        writer.writerow(values)
    return out.getvalue()


def _positive_integer(text: str, what: str, errors: list[str]) -> int | None:
    # Plain digits only: int() would also take '1_0' or non-Latin digits, which no list means.
    if not re.fullmatch(r"-?[0-9]+", text):
        errors.append(f"{what} must be a whole number, not {text!r}")
        return None
    value = int(text)
    if value < 1:
        errors.append(f"{what} must be 1 or more, not {value}")
        return None
    return value


def _check_header(header: list[str]) -> list[str]:
    problems = []
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    known = REQUIRED_COLUMNS + BLOCK_COLUMNS
    unknown = [name for name in header if name not in known]
    if unknown:
        problems.append(
            f"unknown column(s): {', '.join(unknown)}; expected {', '.join(REQUIRED_COLUMNS)}"
            f" and optionally {', '.join(BLOCK_COLUMNS)}"
        )
    if sum(name in header for name in BLOCK_COLUMNS) == 1:
        problems.append("block_number and block_size must be given together")
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        problems.append(f"column(s) named twice: {', '.join(duplicated)}")
    return problems


def _parse_row(values: dict[str, str], with_blocks: bool) -> tuple[Allocation | None, list[str]]:
    problems: list[str] = []
    stratum = spreadsheet.original_text(values["stratum"])
    if stratum != stratum.strip():
        problems.append(f"stratum {stratum!r} has spaces at its start or end")
    number = _positive_integer(
        values["randomization_number"].strip(), "randomization number", problems
    )
    arm = values["arm"].strip()
    if arm not in ARMS:
        problems.append(f"arm must be A or B, not {arm!r}")
    block_number = block_size = None
    if with_blocks:
        block_number = _positive_integer(values["block_number"].strip(), "block number", problems)
        block_size = _positive_integer(values["block_size"].strip(), "block size", problems)
        if block_size is not None and block_size % 2:
            problems.append(f"block size must be even for a 1:1 allocation, not {block_size}")
    if problems or number is None:
        return None, problems
    return Allocation(stratum, number, cast(Arm, arm), block_number, block_size), []


def _read_rows(text: str, errors: list[tuple[int, str]]) -> list[tuple[int, Allocation]]:
    """Rows that parse on their own, with their line numbers; problems go to `errors`."""
    # Spreadsheet programs often start a UTF-8 file with a byte-order mark.
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    try:
        header = [name.strip() for name in next(reader)]
        header_problems = _check_header(header)
        if header_problems:
            errors.extend((reader.line_num, problem) for problem in header_problems)
            return []
        with_blocks = BLOCK_COLUMNS[0] in header
        rows: list[tuple[int, Allocation]] = []
        for fields in reader:
            line = reader.line_num
            if not any(field.strip() for field in fields):
                continue
            if len(fields) != len(header):
                errors.append((line, f"{len(fields)} values, but the header has {len(header)}"))
                continue
            allocation, problems = _parse_row(dict(zip(header, fields, strict=True)), with_blocks)
            errors.extend((line, problem) for problem in problems)
            if allocation is not None:
                rows.append((line, allocation))
    except csv.Error as error:
        errors.append((reader.line_num, f"cannot be read as CSV ({error})"))
        return []
    if not rows and not errors:
        errors.append((reader.line_num, "the file has a header but no allocations"))
    return rows


def _check_duplicates(rows: list[tuple[int, Allocation]], errors: list[tuple[int, str]]) -> None:
    first_line: dict[tuple[str, int], int] = {}
    for line, row in rows:
        key = (row.stratum, row.randomization_number)
        first = first_line.setdefault(key, line)
        if first != line:
            errors.append(
                (
                    line,
                    f"randomization number {row.randomization_number} of "
                    f"{_where(row.stratum)} is already on line {first}",
                )
            )


def _where(stratum: str) -> str:
    return f"stratum {stratum!r}" if stratum else "the list"


def _check_numbering(
    stratum: str, rows: list[tuple[int, Allocation]], errors: list[tuple[int, str]]
) -> None:
    """Numbers run 1, 2, 3… so enrollment can always take the next one (SPEC 4.4)."""
    line_of = {row.randomization_number: line for line, row in rows}
    numbers = sorted(line_of)
    missing = sorted(set(range(1, numbers[-1] + 1)) - set(numbers))
    if missing:
        after_gap = min(n for n in numbers if n > missing[0])
        shown = ", ".join(str(n) for n in missing[:10]) + (", …" if len(missing) > 10 else "")
        errors.append(
            (
                line_of[after_gap],
                f"{_where(stratum)} skips randomization number(s) "
                f"{shown}; numbers must run 1, 2, 3… without gaps",
            )
        )


def _check_blocks(
    stratum: str, rows: list[tuple[int, Allocation]], errors: list[tuple[int, str]]
) -> None:
    """Where the file names blocks, each has one size, no overflow, and is balanced when full."""
    blocks: dict[int, list[tuple[int, Allocation]]] = {}
    for line, row in rows:
        if row.block_number is not None:
            blocks.setdefault(row.block_number, []).append((line, row))
    for block_number, members in blocks.items():
        name = f"block {block_number} of {_where(stratum)}"
        last_line = max(line for line, _ in members)
        sizes = sorted({row.block_size or 0 for _, row in members})
        if len(sizes) > 1:
            shown = ", ".join(str(size) for size in sizes)
            errors.append((last_line, f"{name} gives different block sizes: {shown}"))
            continue
        size = sizes[0]
        on_a = sum(row.arm == "A" for _, row in members)
        if len(members) > size:
            errors.append((last_line, f"{name} has {len(members)} rows but a size of {size}"))
        elif len(members) == size and on_a * 2 != size:
            errors.append(
                (last_line, f"{name} is not balanced: {on_a} on arm A and {size - on_a} on arm B")
            )


def _check_balance(
    stratum: str, rows: list[tuple[int, Allocation]], errors: list[tuple[int, str]]
) -> None:
    """SPEC 4.4: 1:1 in permuted blocks, so only one unfinished block can tip the balance."""
    known_sizes = [row.block_size for _, row in rows if row.block_size is not None]
    allowed = max(known_sizes or DEFAULT_BLOCK_SIZES) // 2
    on_a = sum(row.arm == "A" for _, row in rows)
    on_b = len(rows) - on_a
    if abs(on_a - on_b) > allowed:
        last_line = max(line for line, _ in rows)
        errors.append(
            (
                last_line,
                f"{_where(stratum)} has {on_a} on arm A and {on_b} on arm B; "
                f"a difference of {abs(on_a - on_b)} is more than one block "
                f"allows ({allowed})",
            )
        )


def import_allocation_csv(text: str) -> list[Allocation]:
    """SPEC 4.4: read and validate a statistician's list; every problem is reported at once.

    Columns: stratum, randomization_number, arm, and optionally block_number with block_size.
    The result is ordered by stratum (as first met in the file), then by number.
    Raises AllocationImportError listing (line number, message) for each problem.
    """
    if not text.strip():
        raise AllocationImportError([(1, "the file is empty")])
    errors: list[tuple[int, str]] = []
    rows = _read_rows(text, errors)
    _check_duplicates(rows, errors)
    by_stratum: dict[str, list[tuple[int, Allocation]]] = {}
    for line, row in rows:
        by_stratum.setdefault(row.stratum, []).append((line, row))
    # A rejected or repeated row would show up again as a false gap or imbalance: check the
    # list as a whole only once every row is sound on its own.
    if not errors:
        for stratum, stratum_rows in by_stratum.items():
            _check_numbering(stratum, stratum_rows, errors)
            _check_blocks(stratum, stratum_rows, errors)
            _check_balance(stratum, stratum_rows, errors)
    if errors:
        raise AllocationImportError(errors)
    return [
        row
        for stratum_rows in by_stratum.values()
        for _, row in sorted(stratum_rows, key=lambda item: item[1].randomization_number)
    ]
