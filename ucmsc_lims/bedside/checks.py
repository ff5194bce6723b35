"""The bedside checks (SPEC 4.8): one list, one order, one wording for both arms.

`run_checks(facts)` is pure: the service gathers the facts (the same queries for a cell bag and
a saline bag), this module turns them into answers. Nothing here may depend on the arm, and no
message may say more than a blinded nurse may read ("product on hold: contact pharmacy", never
why).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _

from ..core.clock import format_local

# SPEC 4.8, in this order. `verification_valid` and `same_scans` are added by the steps after
# nurse 1 (confirmation and start).
CHECK_NAMES = (
    "bag_known",
    "bag_allocated_to_patient",
    "patient_active",
    "dose_cleared",
    "dose_due",
    "not_expired",
    "released_not_on_hold",
    "custody_complete",
    "no_open_excursion",
    "time_out_of_range",
    "not_infused",
    "weight_within_tolerance",
    "identity_confirmed",
    "bag_intact",
)

RELEASED_STATES = frozenset({"released_for_issue", "in_transit", "received_on_ward", "verified"})
INFUSION_STATES = frozenset({"infusing", "infused", "stopped"})
CLEARED_DOSE_STATES = frozenset({"cleared", "bag_ready", "verified"})


@dataclass(frozen=True)
class Check:
    check: str
    ok: bool
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.check, "ok": self.ok, "message": self.message}


@dataclass
class Facts:
    """What the service found for one pair of scans, at one moment."""

    now: datetime
    today: date
    ward_code: str | None
    # The bag: None when the code was unknown or unreadable; `bag_problem` then says which.
    bag: Any = None
    bag_problem: str | None = None
    bag_status: str | None = None  # effective: "expired" past expiry
    source_released: bool = True  # a cell bag's batch released (always True for saline)
    patient: Any = None
    patient_problem: str | None = None
    next_due: Any = None  # the patient's next due dose
    chain_complete: bool = False
    chain_message: str = ""
    open_excursions: int = 0
    minutes_out_of_range: float = 0.0
    max_minutes_out_of_range: float = 30.0
    infusion_exists: bool = False
    weight_kg: float | None = None
    tolerance_pct: float = 10.0
    identity_confirmed: bool | None = False  # None: not asked
    bag_intact: bool | None = False
    extra: list[Check] = field(default_factory=list)


def _ok(name: str, message: str) -> Check:
    return Check(name, True, message)


def _fail(name: str, message: str) -> Check:
    return Check(name, False, message)


def _pct(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def run_checks(facts: Facts) -> list[Check]:
    bag, patient = facts.bag, facts.patient
    results: list[Check] = []
    add = results.append

    if bag is None:
        add(_fail("bag_known", facts.bag_problem or _("bag not known")))
    else:
        add(_ok("bag_known", _("bag known, label valid")))

    if patient is None:
        add(_fail("bag_allocated_to_patient", facts.patient_problem or _("wristband not known")))
    elif bag is None:
        add(_fail("bag_allocated_to_patient", _("cannot check: bag not known")))
    elif bag.patient_id != patient.id:
        add(_fail("bag_allocated_to_patient", _("bag not allocated to this patient")))
    else:
        add(_ok("bag_allocated_to_patient", _("bag allocated to this patient")))
    allocated = results[-1].ok

    if patient is None:
        add(_fail("patient_active", facts.patient_problem or _("wristband not known")))
    elif patient.status == "withdrawn":
        add(_fail("patient_active", _("patient withdrawn from the study")))
    elif patient.status == "dead":
        add(_fail("patient_active", _("patient recorded as dead")))
    else:
        add(_ok("patient_active", _("patient active")))

    dose = bag.dose if bag is not None else None
    results.extend(_dose_checks(facts, dose, allocated))
    results.extend(_bag_checks(facts))
    add(_weight_check(facts))
    # Nurse 1's attestations: a no is a NO-GO; None (an API client that did not ask) passes
    # and says so (service.verify explains why).
    if facts.identity_confirmed is None:
        add(_ok("identity_confirmed", _("patient's name and date of birth: not asked")))
    elif facts.identity_confirmed:
        add(_ok("identity_confirmed", _("patient stated name and date of birth")))
    else:
        add(_fail("identity_confirmed", _("patient's name and date of birth not confirmed")))
    if facts.bag_intact is None:
        add(_ok("bag_intact", _("bag intact: not asked")))
    elif facts.bag_intact:
        add(_ok("bag_intact", _("bag confirmed intact")))
    else:
        add(_fail("bag_intact", _("bag not confirmed intact")))
    results.extend(facts.extra)
    return results


def _dose_checks(facts: Facts, dose: Any, allocated: bool) -> list[Check]:
    if dose is None or not allocated:
        why = _("cannot check: bag not known") if facts.bag is None else _(
            "cannot check: bag not allocated to this patient")
        return [_fail("dose_cleared", why), _fail("dose_due", why)]
    n = dose.dose_number
    if dose.state in CLEARED_DOSE_STATES and dose.cleared_at is not None:
        cleared = _ok("dose_cleared", _("dose %(n)s cleared by the investigator", n=n))
    elif dose.state == "infused":
        cleared = _fail("dose_cleared", _("dose %(n)s already given", n=n))
    elif dose.state == "postponed":
        cleared = _fail("dose_cleared", _("dose %(n)s postponed", n=n))
    elif dose.state in ("missed", "cancelled"):
        cleared = _fail("dose_cleared", _("dose %(n)s is %(state)s", n=n, state=dose.state))
    else:
        cleared = _fail("dose_cleared", _("dose %(n)s not cleared by the investigator", n=n))

    nxt = facts.next_due
    if nxt is None or nxt.id != dose.id:
        if nxt is None:
            due = _fail("dose_due", _("dose %(n)s is not the next dose due", n=n))
        else:
            due = _fail("dose_due", _("dose %(n)s is not the next dose due (dose %(m)s is)",
                                      n=n, m=nxt.dose_number))
    elif not dose.window_start <= facts.today <= dose.window_end:
        due = _fail("dose_due", _("outside the window of dose %(n)s (%(a)s to %(b)s)", n=n,
                                  a=dose.window_start.isoformat(),
                                  b=dose.window_end.isoformat()))
    else:
        due = _ok("dose_due", _("dose %(n)s is the next dose due, within its window", n=n))
    return [cleared, due]


def _bag_checks(facts: Facts) -> list[Check]:
    bag = facts.bag
    names = ("not_expired", "released_not_on_hold", "custody_complete", "no_open_excursion",
             "time_out_of_range", "not_infused")
    if bag is None:
        return [_fail(name, _("cannot check: bag not known")) for name in names]
    out: list[Check] = []
    expires_at = bag.expires_at
    if facts.bag_status == "expired" or (expires_at is not None and expires_at <= facts.now):
        out.append(_fail("not_expired", _("bag expired at %(t)s", t=format_local(expires_at))))
    else:
        out.append(_ok("not_expired", _("expires at %(t)s", t=format_local(expires_at))))

    status = bag.status
    if status == "on_hold" or (status in RELEASED_STATES and not facts.source_released):
        out.append(_fail("released_not_on_hold", _("product on hold: contact pharmacy")))
    elif status in ("returned", "destroyed"):
        out.append(_fail("released_not_on_hold", _("bag returned to pharmacy: do not use")))
    elif status in RELEASED_STATES or status in INFUSION_STATES:
        out.append(_ok("released_not_on_hold", _("released for issue, not on hold")))
    else:
        out.append(_fail("released_not_on_hold",
                         _("bag not released for issue: contact pharmacy")))

    if facts.chain_complete:
        out.append(_ok("custody_complete", facts.chain_message))
    else:
        out.append(_fail("custody_complete", facts.chain_message))

    if facts.open_excursions:
        out.append(_fail("no_open_excursion",
                         _("open temperature excursion: contact pharmacy")))
    else:
        out.append(_ok("no_open_excursion", _("no open temperature excursion")))

    minutes, limit = facts.minutes_out_of_range, facts.max_minutes_out_of_range
    if minutes > limit:
        out.append(_fail("time_out_of_range", _(
            "out of the storage range for %(m)s min (limit %(l)s min): contact pharmacy",
            m=_pct(minutes), l=_pct(limit))))
    else:
        out.append(_ok("time_out_of_range", _(
            "%(m)s min out of the storage range (limit %(l)s min)", m=_pct(minutes),
            l=_pct(limit))))

    if facts.infusion_exists or status in INFUSION_STATES:
        out.append(_fail("not_infused", _("bag already infused")))
    else:
        out.append(_ok("not_infused", _("not infused yet")))
    return out


def _weight_check(facts: Facts) -> Check:
    bag = facts.bag
    if facts.weight_kg is None:
        return _fail("weight_within_tolerance", _("weight not entered"))
    if bag is None:
        return _fail("weight_within_tolerance", _("cannot check: bag not known"))
    prepared = getattr(bag, "prepared_weight_kg", None) or getattr(
        bag.dose, "prepared_weight_kg", None)
    if not prepared:
        return _fail("weight_within_tolerance",
                     _("the weight the dose was prepared for is not recorded: contact pharmacy"))
    change = abs(facts.weight_kg - prepared) / prepared * 100
    if change > facts.tolerance_pct:
        return _fail("weight_within_tolerance", _(
            "weight %(w)s kg differs by %(c)s %% from the %(p)s kg the dose was prepared for "
            "(limit %(t)s %%): contact pharmacy", w=_pct(facts.weight_kg), c=_pct(change),
            p=_pct(prepared), t=_pct(facts.tolerance_pct)))
    return _ok("weight_within_tolerance", _(
        "weight %(w)s kg within %(t)s %% of the %(p)s kg the dose was prepared for",
        w=_pct(facts.weight_kg), t=_pct(facts.tolerance_pct), p=_pct(prepared)))


def decision_of(checks: list[Check]) -> str:
    return "GO" if all(c.ok for c in checks) else "NO_GO"
