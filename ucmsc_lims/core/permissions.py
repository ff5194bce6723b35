"""Roles, the permissions each grants, and the `requires` declaration every route carries.

Deny by default (SPEC 2): a before-request guard refuses any endpoint that declares no
permission, so a route added without `@requires(...)` answers 403 rather than opening up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

PUBLIC = "public"  # no sign-in needed: login, health, the OpenAPI document
SIGNED_IN = "signed_in"  # any signed-in user

TECHNICIAN, QA, PHARMACIST = "technician", "qa", "pharmacist"
NURSE, INVESTIGATOR, INSPECTOR, ADMIN = "nurse", "investigator", "inspector", "admin"

ROLES = (TECHNICIAN, QA, PHARMACIST, NURSE, INVESTIGATOR, INSPECTOR, ADMIN)
# SPEC 2: an account is blinded or unblinded, never both; admin is held alone.
UNBLINDED_ROLES = frozenset({TECHNICIAN, QA, PHARMACIST})
BLINDED_ROLES = frozenset({NURSE, INVESTIGATOR, INSPECTOR, ADMIN})

ROLE_LABELS = {
    TECHNICIAN: "GMP technician",
    QA: "Quality assurance",
    PHARMACIST: "Unblinded pharmacist",
    NURSE: "Infusion nurse",
    INVESTIGATOR: "Investigator",
    INSPECTOR: "Inspector",
    ADMIN: "Administrator",
}

# The one permission that shows the arm, and what leads to it (SPEC 2, STYLE: blinding is a
# permission like any other).
SEE_ARM = "blind.see_arm"

_READ_GMP = {"lot.read", "trace.read", "audit.read", "batch_record.read", "report.read"}

PERMISSIONS: dict[str, frozenset[str]] = {
    TECHNICIAN: frozenset({
        SEE_ARM, "lot.read", "lot.record", "lot.destroy", "donor.record", "material.record",
        "qc.record", "deviation.investigate",
        "bag.read", "bag.fill", "label.preview", "label.print", "lot_label.read",
        "custody.record", "trace.read", "location.read", "patient.read",
        "custody.read",
    }),
    QA: frozenset({
        SEE_ARM, *_READ_GMP, "lot.release", "lot.hold", "lot.destroy", "deviation.disposition",
        "excursion.disposition", "audit.verify", "bag.read", "bag.hold", "lot_label.read",
        "lookback.run", "inspector_grant.cosign", "inspector_grant.read", "nearmiss.read",
        "inspector_grant.revoke", "deviation.investigate",
        "patient.read",
        "location.read", "qc.review", "custody.read",
        "custody.logger",
        "donor.determine", "material.release",
        "lookback.read",
    }),
    PHARMACIST: frozenset({
        SEE_ARM, "lot.read", "trace.read", "bag.read", "bag.verify_fill", "bag.release",
        "bag.hold", "bag.return", "bag.destroy", "label.preview", "label.print",
        "randomization.read", "randomization.manage", "dose.postpone", "unblinding.confirm",
        "patient.read", "wristband.read", "lookback.read", "custody.read", "location.read",
        "custody.logger",
        "report.read",
        "followup.export",
        "lookback.decide",
        "dose.reschedule", "dose.record_missed", "unblinding.read", "unblinding.respond",
    }),
    NURSE: frozenset({
        "bag.read", "label.preview", "bedside.verify", "infusion.record", "custody.receive",
        "patient.read", "wristband.read", "trace.read", "location.read", "bag.return",
    }),
    INVESTIGATOR: frozenset({
        "patient.read", "patient.enroll", "dose.clear", "followup.read", "followup.record",
        "followup.lock", "followup.export",
        "unblinding.request", "wristband.read", "bag.read", "trace.read",
        "patient.status",
        "dose.reschedule", "dose.record_missed", "unblinding.read", "unblinding.respond",
    }),
    INSPECTOR: frozenset({
        *_READ_GMP, "audit.verify", "patient.read", "followup.read", "bag.read",
        "followup.export",
        "nearmiss.read", "custody.read", "location.read",
    }),
    ADMIN: frozenset({
        "users.manage", "protocol.manage", "location.manage", "inspector_grant.grant",
        "inspector_grant.read", "inspector_grant.revoke",
        "trace.read",
    }),
}

# Read by everyone signed in.
EVERYONE = frozenset({"protocol.read", "scan"})


def permissions_for(roles: set[str] | frozenset[str]) -> frozenset[str]:
    granted = set(EVERYONE)
    for role in roles:
        granted |= PERMISSIONS.get(role, frozenset())
    return frozenset(granted)


def requires(permission: str) -> Callable[[F], F]:
    """Declare the permission a view needs; the app-wide guard enforces it before the view."""

    def declare(view: F) -> F:
        view.required_permission = permission  # type: ignore[attr-defined]
        return view

    return declare


def required_permission(view: Callable | None) -> str | None:
    """The permission a view declared, looking through decorators that used functools.wraps."""
    while view is not None:
        declared = getattr(view, "required_permission", None)
        if declared:
            return declared
        view = getattr(view, "__wrapped__", None)
    return None
