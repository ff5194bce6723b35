"""Temperature-logger files: parse the CSV and find the stretches out of the storage range.

Pure functions, no database. SPEC 4.7: a logger file attached to a shipment is checked against
the allowed range.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ..core.errors import DomainError

MAX_READINGS = 100_000
HEADER = ("timestamp", "temperature_c")


@dataclass(frozen=True)
class Reading:
    at: datetime  # aware, UTC
    temperature_c: float


@dataclass(frozen=True)
class Stretch:
    """Consecutive readings out of range. It starts at the first reading out of range and ends
    at the first reading back in range (or at the last reading when the file ends out of
    range): the logger cannot say the product was back in range any sooner."""

    started_at: datetime
    ended_at: datetime
    lowest_c: float
    highest_c: float

    @property
    def minutes(self) -> float:
        return (self.ended_at - self.started_at).total_seconds() / 60


def _parse_time(text: str, zone: ZoneInfo, line: int) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise DomainError(
            f"Line {line}: '{text[:40]}' is not a date and time like 2026-11-25T09:30:00+08:00."
        ) from None
    # A logger that writes no offset writes the site's local time.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _parse_temperature(text: str, line: int) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise DomainError(f"Line {line}: '{text[:20]}' is not a temperature in °C.") from None
    if not math.isfinite(value) or not -273.15 <= value <= 200:
        raise DomainError(f"Line {line}: {text.strip()[:20]} °C is not a possible reading.")
    return value


def parse_logger_csv(text: str, *, zone: ZoneInfo) -> list[Reading]:
    """Read `timestamp,temperature_c` rows; refuse the file in plain words if anything is off."""
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(rows, None)
    if header is None or tuple(h.strip().lower() for h in header) != HEADER:
        raise DomainError("The logger file must start with the header: timestamp,temperature_c")
    readings: list[Reading] = []
    seen: set[datetime] = set()
    for line, row in enumerate(rows, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 2:
            raise DomainError(f"Line {line}: expected 2 values (timestamp, temperature_c), "
                              f"found {len(row)}.")
        at = _parse_time(row[0], zone, line)
        if at in seen:
            raise DomainError(f"Line {line}: a second reading for the same time.")
        seen.add(at)
        readings.append(Reading(at, _parse_temperature(row[1], line)))
        if len(readings) > MAX_READINGS:
            raise DomainError(f"The logger file has more than {MAX_READINGS} readings.")
    if not readings:
        raise DomainError("The logger file has no readings.")
    readings.sort(key=lambda r: r.at)
    return readings


def out_of_range_stretches(
    readings: list[Reading], *, minimum_c: float, maximum_c: float
) -> list[Stretch]:
    stretches: list[Stretch] = []
    current: list[Reading] = []
    for reading in readings:
        if minimum_c <= reading.temperature_c <= maximum_c:
            if current:
                stretches.append(_stretch(current, reading.at))
                current = []
        else:
            current.append(reading)
    if current:
        stretches.append(_stretch(current, current[-1].at))
    return stretches


def _stretch(out: list[Reading], ended_at: datetime) -> Stretch:
    temperatures = [r.temperature_c for r in out]
    return Stretch(out[0].at, ended_at, min(temperatures), max(temperatures))
