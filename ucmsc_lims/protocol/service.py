"""Read the setting in force on a date; change a setting as a new, audited version."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from ..auth.models import User
from ..core import audit
from ..core.clock import site_today
from ..core.errors import DomainError
from ..extensions import db
from .models import ProtocolSettingVersion
from .settings import BY_KEY, DEFINITIONS, SettingDefinition


def value_column(key: str, on: date) -> sa.Label:
    """The stored value of `key` in force on `on` (NULL before any change), as a scalar
    subquery, so a hot path reads its settings in the statement it runs anyway."""
    BY_KEY[key]  # an unknown key is a programming error: fail here, not in SQL
    return (
        sa.select(ProtocolSettingVersion.value)
        .where(ProtocolSettingVersion.key == key, ProtocolSettingVersion.effective_from <= on)
        .order_by(ProtocolSettingVersion.effective_from.desc())
        .limit(1)
        .scalar_subquery()
        .label(key)
    )


def decode(key: str, raw: str | None) -> Any:
    """A stored value read back; the catalogue default when none was stored."""
    return BY_KEY[key].default if raw is None else json.loads(raw)


def value(key: str, on: date | None = None) -> Any:
    """The value in force on `on` (default: today at the site); the catalogue default before
    any change."""
    return decode(key, db.session.scalar(sa.select(value_column(key, on or site_today()))))


def values(on: date | None = None) -> dict[str, Any]:
    return {d.key: value(d.key, on) for d in DEFINITIONS}


@dataclass(frozen=True)
class SettingView:
    definition: SettingDefinition
    current: Any
    history: list[ProtocolSettingVersion]


def overview() -> list[SettingView]:
    rows = db.session.scalars(
        sa.select(ProtocolSettingVersion).order_by(
            ProtocolSettingVersion.key, ProtocolSettingVersion.effective_from.desc()
        )
    ).all()
    history: dict[str, list[ProtocolSettingVersion]] = {}
    for row in rows:
        history.setdefault(row.key, []).append(row)
    return [SettingView(d, value(d.key), history.get(d.key, [])) for d in DEFINITIONS]


def parse_value(definition: SettingDefinition, text: str) -> Any:
    """Turn what an admin typed into a typed value, or say in plain words what is wrong."""
    text = text.strip()
    errors = {"value": []}
    try:
        if definition.kind == "int":
            parsed: Any = int(text)
        elif definition.kind == "float":
            parsed = float(text)
        elif definition.kind == "bool":
            if text.lower() not in {"true", "false", "yes", "no", "1", "0"}:
                raise ValueError
            parsed = text.lower() in {"true", "yes", "1"}
        elif definition.kind == "int_list":
            parsed = sorted(int(part) for part in text.replace(";", ",").split(",") if part.strip())
            if not parsed:
                raise ValueError
        elif definition.kind == "choice":
            if text not in definition.choices:
                raise ValueError
            parsed = text
        else:
            if not text:
                raise ValueError
            parsed = text
    except ValueError:
        expected = {
            "int": "a whole number", "float": "a number", "bool": "yes or no",
            "int_list": "whole numbers separated by commas",
            "choice": "one of " + ", ".join(definition.choices), "str": "some text",
        }[definition.kind]
        errors["value"].append(f"Expected {expected}.")
        message = f"{definition.label}: expected {expected}."
        raise DomainError(message, field_errors=errors) from None
    numbers = parsed if isinstance(parsed, list) else [parsed]
    for number in numbers:
        if isinstance(number, int | float) and not isinstance(number, bool):
            if definition.minimum is not None and number < definition.minimum:
                raise DomainError(f"{definition.label} must be at least {definition.minimum:g}.")
            if definition.maximum is not None and number > definition.maximum:
                raise DomainError(f"{definition.label} must be at most {definition.maximum:g}.")
    return parsed


def change_setting(
    key: str, new_text: str, *, effective_from: date, reason: str, by: User
) -> ProtocolSettingVersion:
    if key not in BY_KEY:
        raise DomainError(f"Unknown protocol setting '{key}'.")
    if not reason.strip():
        raise DomainError("A reason is required to change a protocol setting.",
                          field_errors={"reason": ["Required."]})
    definition = BY_KEY[key]
    new_value = parse_value(definition, new_text)
    exists = db.session.scalar(
        sa.select(ProtocolSettingVersion).where(
            ProtocolSettingVersion.key == key,
            ProtocolSettingVersion.effective_from == effective_from,
        )
    )
    if exists is not None:
        raise DomainError(
            f"{definition.label} already has a version effective from {effective_from}; "
            "choose another date."
        )
    old_value = value(key, effective_from)
    version = ProtocolSettingVersion(
        key=key, value=audit.canonical_json(new_value), effective_from=effective_from,
        reason=reason.strip(), created_by_id=by.id,
    )
    db.session.add(version)
    audit.record(db.session, "protocol.setting_changed", version, actor=by, reason=reason.strip(),
                 old={"key": key, "value": old_value},
                 new={"key": key, "value": new_value, "effective_from": effective_from})
    return version
