"""The catalogue of protocol settings: name, type, default, unit and what each one governs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
)

BY_KEY = {d.key: d for d in DEFINITIONS}
