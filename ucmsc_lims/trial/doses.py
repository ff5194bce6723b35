"""Dose states (SPEC 4.4, 4.5): the one place they change, and the actions that change them.

`transition_dose` is the public door for other domains (bagging, bedside); clearance,
postponement, rescheduling and missed doses have their own actions with their own checks. All of
them change the state through `_move`, which checks the machine and writes the audit entry.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from ..auth.models import User
from ..core import audit, esign
from ..core.clock import site_today
from ..core.db import utcnow
from ..core.errors import DomainError, NotPermitted
from ..core.locking import lock_for_update
from ..extensions import db
from ..followup.schedule import DoseDue, ProtocolSchedule, dose_schedule
from ..protocol import service as protocol
from . import clearance
from .models import BLINDED_POSTPONEMENT_REASON, Dose, DosePostponement, Patient
from .states import DOSE_MACHINE, OPEN_STATES


def _require(by: User, permission: str, message: str) -> None:
    if not by.can(permission):
        raise NotPermitted(message)


def _protocol_schedule(day0: date) -> ProtocolSchedule:
    """SPEC 1: the settings in force on day 0 place the doses (versioned, so reproducible)."""
    return ProtocolSchedule(
        dose_count=protocol.value("dose_count", day0),
        interval_days=protocol.value("dose_interval_days", day0),
        window_days=protocol.value("dose_window_days", day0),
    )


def schedule_for(day0: date) -> list[DoseDue]:
    return dose_schedule(day0, _protocol_schedule(day0))


# Targets with their own action: a signature, a blinded reason, or the patient's status.
_DEDICATED = {
    "cleared": "clear_dose (the investigator's signature)",
    "postponed": "postpone_dose (the pharmacist, with the blinded reason)",
    "cancelled": "withdraw_patient or record_death",
}


def transition_dose(dose: Dose, to_state: str, *, by: User, reason: str | None = None) -> Dose:
    """The public door to a dose's state (bagging: cleared -> bag_ready, bag_ready -> cleared;
    bedside: bag_ready -> verified -> infused, verified -> bag_ready). Checks the machine,
    changes, audits, in the caller's transaction. Every change, here or in the actions below,
    goes through `_move`."""
    if to_state in _DEDICATED:
        raise DomainError(f"A dose becomes {to_state} only through {_DEDICATED[to_state]}.")
    return _move(dose, to_state, by=by, reason=reason)


def _move(dose: Dose, to_state: str, *, by: User, reason: str | None,
          extra: dict | None = None, blinded_visible: bool = True) -> Dose:
    if to_state not in DOSE_MACHINE.transitions:
        raise DomainError(f"'{to_state}' is not a dose state.")
    lock_for_update(db.session, dose)
    DOSE_MACHINE.check(dose.state, to_state)
    if dose.patient.status != "active" and to_state not in ("cancelled", "missed"):
        raise DomainError(
            f"Patient {dose.patient.subject_id} is {dose.patient.status}: "
            "no dose may move on."
        )
    old = dose.state
    dose.state = to_state
    dose.state_changed_at = utcnow()
    if old == "cleared" and to_state in ("scheduled", "postponed"):
        dose.cleared_at = None
        dose.cleared_by_id = None
        dose.clearance_signature_id = None
    db.session.flush()
    audit.record(db.session, f"dose.{to_state}", dose, actor=by, reason=reason,
                 blinded_visible=blinded_visible,
                 old={"state": old}, new={"state": to_state, **(extra or {})})
    return dose


def clear_dose(
    dose: Dose, *, by: User, password: str, no_reaction_confirmed: bool,
    weight_kg: float | None = None,
) -> Dose:
    """SPEC 4.4: the investigator's signed decision that the patient may receive this dose.

    Only the next dose due, only from the protocol's lead before its window opens, and never
    while a serious adverse event awaits the investigator's assessment (`clearance`). The
    investigator confirms there is no unresolved reaction or serious adverse event since the
    last dose; the signature (meaning "dose_clearance") is bound to that confirmation and to
    the adverse events reviewed. Every check runs before the password, so a refusal changes
    nothing.
    """
    _require(by, "dose.clear", _("Only an investigator clears a patient for a dose."))
    patient = dose.patient
    if patient.status != "active":
        raise DomainError(_("Patient %(subject)s is %(status)s: no dose is cleared.",
                            subject=patient.subject_id, status=patient.status))
    DOSE_MACHINE.check(dose.state, "cleared")
    found = clearance.review(dose, today=site_today())
    if found.refusal is not None:
        raise DomainError(found.refusal)
    if not no_reaction_confirmed:
        raise DomainError(
            _("Confirm that the patient has no unresolved reaction or serious adverse event "
              "since the last dose."),
            field_errors={"no_reaction_confirmed": [_("Required to clear the dose.")]},
        )
    if weight_kg is not None and not 20 <= weight_kg <= 250:
        raise DomainError(_("The weight must be between 20 and 250 kg."),
                          field_errors={"weight_kg": [_("Between 20 and 250 kg.")]})
    reviewed = [
        {"event_id": e.id, "term": e.term, "grade": e.grade, "serious": e.serious,
         "onset_date": e.onset_date, "causality": e.causality}
        for e in found.adverse_events
    ]
    content = {
        "subject_id": patient.subject_id, "dose_number": dose.dose_number,
        "due_on": dose.due_on, "no_unresolved_reaction_or_sae": True,
        "weight_kg": weight_kg if weight_kg is not None else patient.weight_kg,
        "adverse_events_reviewed": reviewed,
    }
    signature = esign.sign(
        db.session, username=by.username, password=password, meaning="dose_clearance",
        entity=("dose", dose.audit_id), content=content, signer_must_be=by,
    )
    if weight_kg is not None and weight_kg != patient.weight_kg:
        _set_weight(patient, weight_kg, by=by, reason=f"weighed at clearance of dose "
                                                     f"{dose.dose_number}")
    dose.cleared_at = signature.signed_at
    dose.cleared_by_id = by.id
    dose.clearance_signature_id = signature.id
    return _move(dose, "cleared", by=by, reason="no unresolved reaction or SAE",
                 extra={"signature_id": signature.id, "weight_kg": content["weight_kg"],
                        "adverse_events_reviewed": [e["event_id"] for e in reviewed]})


def _set_weight(patient: Patient, weight_kg: float, *, by: User, reason: str) -> None:
    old = patient.weight_kg
    patient.weight_kg = float(weight_kg)
    audit.record(db.session, "patient.weight_changed", patient, actor=by, reason=reason,
                 old={"weight_kg": old}, new={"weight_kg": patient.weight_kg})


def record_prepared_weight(dose: Dose, weight_kg: float, *, by: User) -> Dose:
    """Bagging records the weight a dose's bag is prepared for (SPEC 4.5, 4.8)."""
    if not 20 <= weight_kg <= 250:
        raise DomainError("The weight must be between 20 and 250 kg.")
    old = dose.prepared_weight_kg
    dose.prepared_weight_kg = float(weight_kg)
    audit.record(db.session, "dose.prepared_weight", dose, actor=by,
                 old={"prepared_weight_kg": old}, new={"prepared_weight_kg": float(weight_kg)})
    return dose


def _check_new_date(dose: Dose, new_date: date, today: date) -> None:
    if new_date < today:
        raise DomainError("The new date cannot be in the past.",
                          field_errors={"new_date": ["Not in the past."]})
    if new_date == dose.due_on:
        raise DomainError("The new date is the date already planned.",
                          field_errors={"new_date": ["Choose another date."]})
    if dose.dose_number != 1 and not dose.window_start <= new_date <= dose.window_end:
        raise DomainError(
            f"Dose {dose.dose_number} must stay inside its window, {dose.window_start} to "
            f"{dose.window_end}.", field_errors={"new_date": ["Outside the window."]},
        )


def _replan(dose: Dose, new_date: date, *, by: User) -> dict:
    """Move a dose to its new date. Dose 1 defines day 0 (SPEC 1), so moving it moves day 0
    and re-plans the later doses from it, under the settings in force on the new day 0."""
    patient = dose.patient
    if dose.dose_number != 1:
        old = dose.due_on
        dose.due_on = new_date
        return {"due_on": {"old": old, "new": new_date}}
    old_day0 = patient.day0
    patient.day0 = new_date
    planned = {due.dose_number: due for due in schedule_for(new_date)}
    for each in patient.doses:
        due = planned.get(each.dose_number)
        if due is not None and each.state in OPEN_STATES:
            each.window_start, each.window_end = due.window_start, due.window_end
            each.due_on = due.due_on
    audit.record(db.session, "patient.day0_moved", patient, actor=by,
                 old={"day0": old_day0}, new={"day0": new_date},
                 reason=BLINDED_POSTPONEMENT_REASON)
    return {"day0": {"old": old_day0, "new": new_date}}


def postpone_dose(
    dose: Dose, *, by: User, true_reason: str, new_date: date | None = None,
) -> Dose:
    """SPEC 4.5: the pharmacist postpones with the one blinded reason; the true reason is kept
    for unblinded readers only. With a new date the dose goes straight back to scheduled."""
    _require(by, "dose.postpone", "Only the pharmacist postpones a dose.")
    true_reason = (true_reason or "").strip()
    if not true_reason:
        raise DomainError("Give the true reason for the postponement (unblinded staff only "
                          "read it).", field_errors={"true_reason": ["Required."]})
    DOSE_MACHINE.check(dose.state, "postponed")
    today = site_today()
    if new_date is not None:
        _check_new_date(dose, new_date, today)
    record = DosePostponement(
        dose_id=dose.id, postponed_by_id=by.id, from_date=dose.due_on, to_date=new_date,
        blinded_reason=BLINDED_POSTPONEMENT_REASON, true_reason=true_reason,
    )
    db.session.add(record)
    dose.postponed_reason_blinded = BLINDED_POSTPONEMENT_REASON
    _move(dose, "postponed", by=by, reason=BLINDED_POSTPONEMENT_REASON,
          extra={"from_date": dose.due_on})
    # SPEC 4.5: the true reason never reaches the blinded trail.
    audit.record(db.session, "dose.postponement_reason", record, actor=by,
                 blinded_visible=False, reason=true_reason,
                 new={"dose": dose.audit_id, "true_reason": true_reason})
    if new_date is not None:
        reschedule_dose(dose, new_date, by=by)
    return dose


def reschedule_dose(dose: Dose, new_date: date, *, by: User) -> Dose:
    """A postponed dose goes back to scheduled on a new date inside its window (SPEC 4.4)."""
    if not by.can("dose.reschedule"):
        raise NotPermitted("Only the pharmacist or the investigator reschedules a dose.")
    DOSE_MACHINE.check(dose.state, "scheduled")
    _check_new_date(dose, new_date, site_today())
    moved = _replan(dose, new_date, by=by)
    return _move(dose, "scheduled", by=by, reason=BLINDED_POSTPONEMENT_REASON, extra=moved)


def mark_missed(dose: Dose, *, by: User, reason: str) -> Dose:
    """A dose not given inside its window (investigator or pharmacist)."""
    if not by.can("dose.record_missed"):
        raise NotPermitted("Only the investigator or the pharmacist records a missed dose.")
    if not (reason or "").strip():
        raise DomainError("Give a reason.", field_errors={"reason": ["Required."]})
    return _move(dose, "missed", by=by, reason=reason.strip())
