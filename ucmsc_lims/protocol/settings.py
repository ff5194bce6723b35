"""The catalogue of protocol settings: name, type, default, unit and what each one governs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class SettingDefinition:
    key: str
    label: str
    kind: str  # "int", "float", "str", "bool", "int_list", "choice"
    default: Any
    unit: str = ""
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


# SPEC 1: the protocol's numbers, with the defaults the spec names.
DEFINITIONS: tuple[SettingDefinition, ...] = (
    SettingDefinition("dose_count", "Number of doses", "int", 3, "doses", minimum=1, maximum=10),
    SettingDefinition("dose_interval_days", "Interval between doses", "int", 28, "days",
                      minimum=1, maximum=365),
    SettingDefinition("dose_window_days", "Dose visit window (±)", "int", 3, "days",
                      minimum=0, maximum=30),
    # SPEC 4.4: the investigator clears a dose from this many days before its window opens,
    # never earlier (a clearance weeks ahead would vouch for a patient not yet seen).
    SettingDefinition("clearance_lead_days", "Clearance opens before the dose window by", "int",
                      3, "days", minimum=0, maximum=14),
    SettingDefinition("dose_cells_per_kg", "Dose per kg", "float", 0.5e6, "cells/kg",
                      minimum=1e4, maximum=1e8),
    SettingDefinition("bag_volume_ml", "Bag volume (both arms)", "int", 100, "mL",
                      minimum=10, maximum=1000),
    SettingDefinition("anticoagulant", "Anticoagulant", "choice", "heparin",
                      choices=("heparin", "ACD-A")),
    SettingDefinition("anticoagulant_amount", "Anticoagulant amount per bag", "str", "1000 IU"),
    SettingDefinition("shelf_life_hours", "Shelf life after filling", "float", 6, "h",
                      minimum=0.5, maximum=72),
    SettingDefinition("storage_min_c", "Storage and transport minimum", "float", 2, "°C",
                      minimum=-200, maximum=40),
    SettingDefinition("storage_max_c", "Storage and transport maximum", "float", 8, "°C",
                      minimum=-200, maximum=40),
    SettingDefinition("max_minutes_out_of_range", "Longest time out of the storage range",
                      "int", 30, "min", minimum=0, maximum=1440),
    SettingDefinition("banking_passage", "Banking passage", "int", 2, "P", minimum=0, maximum=10),
    SettingDefinition("max_passage", "Maximum passage", "int", 5, "P", minimum=1, maximum=15),
    SettingDefinition("endotoxin_limit", "Endotoxin limit", "float", 0.5, "EU/mL",
                      minimum=0, maximum=100),
    SettingDefinition("weight_tolerance_pct", "Weight tolerance at the bedside", "float", 10, "%",
                      minimum=0, maximum=50),
    SettingDefinition("verification_validity_minutes", "Bedside verification stays valid for",
                      "int", 30, "min", minimum=1, maximum=240),
    SettingDefinition("followup_weeks", "Follow-up visit weeks", "int_list", [12, 24, 48],
                      "weeks"),
    SettingDefinition("followup_every_weeks", "Then a visit every", "int", 26, "weeks",
                      minimum=1, maximum=104),
    SettingDefinition("followup_last_week", "Last follow-up visit", "int", 326, "weeks",
                      minimum=1, maximum=1000),
    SettingDefinition("followup_window_days", "Follow-up visit window (±)", "int", 7, "days",
                      minimum=0, maximum=60),
    SettingDefinition("investigator_may_unblind", "Investigator may confirm an emergency "
                      "unblinding", "bool", False),
    # SPEC 4.2: plausibility of manufacturing records. A passage whose doubling time falls
    # outside the plausible range is recorded only with a reason; one faster than the fastest
    # possible opens a deviation and stops the lot until QA closes it.
    SettingDefinition("doubling_time_min_hours", _l("Plausible doubling time, fastest"), "float",
                      12, "h", minimum=1, maximum=1000),
    SettingDefinition("doubling_time_max_hours", _l("Plausible doubling time, slowest"), "float",
                      240, "h", minimum=1, maximum=10000),
    SettingDefinition("doubling_time_limit_hours", _l("Fastest possible doubling time"), "float",
                      8, "h", minimum=1, maximum=1000),
    # Cells seeded or banked never exceed the cells harvested they come from, but for counting
    # rounding of this much.
    SettingDefinition("cell_count_tolerance_pct", _l("Cell count rounding in a mass balance"),
                      "float", 0, "%", minimum=0, maximum=20),
    # SPEC 4.3: the earliest a passing result may be entered after its sample was taken.
    SettingDefinition("min_hours_sterility", _l("Sterility: earliest passing result after "
                      "sampling"), "float", 336, "h", minimum=0, maximum=2000),
    SettingDefinition("min_hours_mycoplasma", _l("Mycoplasma: earliest passing result after "
                      "sampling"), "float", 24, "h", minimum=0, maximum=2000),
    SettingDefinition("min_hours_endotoxin", _l("Endotoxin: earliest passing result after "
                      "sampling"), "float", 1, "h", minimum=0, maximum=2000),
)

BY_KEY = {d.key: d for d in DEFINITIONS}
