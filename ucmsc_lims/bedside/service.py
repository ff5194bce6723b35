"""Bedside verification by two nurses and the start of the infusion (SPEC 4.8).

`verify` records nurse 1's scans and the checks' answer (a NO-GO too: it is a near-miss);
`confirm` is nurse 2's repeat of both scans, every check again, then the signature;
`start_infusion` re-runs the checks and starts the one infusion a bag may have. The infusion
record itself (end, vitals, adverse events) lives in `infusions.py`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from ..bagging.models import Bag
from ..core import audit, esign
from ..core.db import LARGEST_ID, utcnow
from ..core.errors import AuthenticationFailed, Conflict, DomainError, NotFound, NotPermitted
from ..extensions import db
from ..protocol import service as protocol
from .checks import Check, decision_of, run_checks
from .facts import gather, status_as_read, wristband_subject
from .models import GO, NO_GO, Infusion, NearMiss, Verification

if TYPE_CHECKING:
    from ..auth.models import User
    from ..trial.models import Patient


class ChecksFailed(Conflict):
    """A NO-GO after nurse 1: the checks that failed travel with the refusal (SPEC 7: 409
    saying which check failed)."""

    def __init__(self, message: str, *, checks: list[dict], verification_id: int | None):
        super().__init__(message)
        self.checks = checks
        self.verification_id = verification_id


# --- reading -----------------------------------------------------------------------------------


def get_verification(verification_id: int) -> Verification:
    verification = (db.session.get(Verification, verification_id)
                    if 0 < verification_id <= LARGEST_ID else None)
    if verification is None:
        raise NotFound(_("No verification %(id)s.", id=verification_id))
    return verification


def get_infusion(infusion_id: int) -> Infusion:
    infusion = db.session.get(Infusion, infusion_id) if 0 < infusion_id <= LARGEST_ID else None
    if infusion is None:
        raise NotFound(_("No infusion %(id)s.", id=infusion_id))
    return infusion


def infusion_of(verification: Verification) -> Infusion | None:
    return db.session.scalar(sa.select(Infusion).where(
        Infusion.verification_id == verification.id))


def valid_until(verification: Verification) -> datetime | None:
    if verification.confirmed_at is None:
        return None
    minutes = int(protocol.value("verification_validity_minutes"))
    return verification.confirmed_at + timedelta(minutes=minutes)


def is_valid(verification: Verification, now: datetime | None = None) -> bool:
    """SPEC 4.8: confirmed and younger than the protocol's validity. Computed when read."""
    until = valid_until(verification)
    return until is not None and (now or utcnow()) < until


def last_confirmation(bag: Bag) -> Verification | None:
    return db.session.scalar(
        sa.select(Verification).where(Verification.bag_id == bag.id,
                                      Verification.confirmed_at.is_not(None))
        .order_by(Verification.confirmed_at.desc()).limit(1)
    )


def effective_bag_status(bag: Bag, now: datetime | None = None) -> str:
    """The bag's status as people should read it (`facts.status_as_read`); the last
    confirmation is looked up only for a bag recorded `verified`."""
    from ..bagging import service as bagging

    now = now or utcnow()
    if bag.status != "verified":
        return bagging.effective_status(bag, now)
    confirmation = last_confirmation(bag)
    return status_as_read(
        bag, now, last_confirmed_at=confirmation.confirmed_at if confirmation else None,
        validity_minutes=int(protocol.value("verification_validity_minutes")))


def patient_for_wristband(code: str) -> tuple[Patient | None, str | None]:
    """(patient, problem): what the screen shows after the wristband scan."""
    from ..trial.models import Patient

    subject_id, problem = wristband_subject(code)
    if subject_id is None:
        return None, problem
    patient = db.session.scalar(sa.select(Patient).where(Patient.subject_id == subject_id))
    if patient is None:
        return None, _("wristband not known")
    return patient, None


def near_misses(*, limit: int = 100, before_id: int | None = None) -> list[NearMiss]:
    query = sa.select(NearMiss).order_by(NearMiss.id.desc()).limit(limit)
    if before_id:
        query = query.where(NearMiss.id < before_id)
    return list(db.session.scalars(query))


def _weight(value: float | None) -> float | None:
    if value is None:
        return None
    if not 0.5 <= value <= 500:
        raise DomainError(_("A weight is between 0.5 and 500 kg."),
                          field_errors={"weight_kg": [_("Out of range.")]})
    return round(float(value), 2)


def _summary(checks: list[Check] | list[dict]) -> str:
    failed = [c.message if isinstance(c, Check) else c["message"] for c in checks
              if not (c.ok if isinstance(c, Check) else c["ok"])]
    return _("NO-GO: %(failed)s", failed="; ".join(failed))


def _record_near_miss(*, stage: str, verification_id: int | None, user: User,
                      ward_code: str | None, patient_code: str | None, bag_code: str | None,
                      checks: list[dict]) -> NearMiss:
    miss = NearMiss(
        stage=stage, verification_id=verification_id, user_id=user.id, ward_code=ward_code,
        patient_code_scanned=(patient_code or "")[:120] or None,
        bag_code_scanned=(bag_code or "")[:120] or None,
        failed=[c for c in checks if not c["ok"]],
    )
    db.session.add(miss)
    audit.record(db.session, "bedside.near_miss", miss, actor=user, new={
        "stage": stage, "verification": verification_id, "ward": ward_code,
        "failed": [c["check"] for c in checks if not c["ok"]],
    })
    return miss


def _refuse_with_near_miss(*, stage: str, verification: Verification, user: User,
                           patient_code: str | None, bag_code: str | None,
                           checks: list[dict]) -> None:
    """Keep the NO-GO and refuse. Like a wrong password (auth.service.check_credentials), the
    near-miss must survive the refusal, so this commits it alone: whatever else the request
    had begun is rolled back first (an Idempotency-Key claim too; core.idempotency then keeps
    the refusal as the first reply)."""
    verification_id, ward_code = verification.id, verification.ward_code
    db.session.rollback()
    _record_near_miss(stage=stage, verification_id=verification_id, user=user,
                      ward_code=ward_code, patient_code=patient_code, bag_code=bag_code,
                      checks=checks)
    db.session.commit()
    raise ChecksFailed(_summary(checks), checks=checks, verification_id=verification_id)


# --- nurse 1 -----------------------------------------------------------------------------------


def verify(
    *, patient_code: str, bag_code: str, weight_kg: float | None, by: User,
    ward_code: str | None, identity_confirmed: bool | None, bag_intact: bool | None,
    now: datetime | None = None,
) -> Verification:
    """Run every check for one wristband and one bag and keep the answer (SPEC 4.8). Any
    scanned string gets a decision; a NO-GO is also kept as a near-miss.

    `identity_confirmed` and `bag_intact` are nurse 1's attestations, recorded as given: True,
    False, or None when the client did not ask. False is a NO-GO. None is recorded and shown
    as "not asked" and does not by itself make a NO-GO: SPEC 7 fixes the API body as
    `{patient_code, bag_code, weight_kg}`, and a client that sends only those must still get
    its GO, and the record never claims a confirmation nobody gave. The page always asks
    (an unticked box is False).
    """
    if not by.can("bedside.verify"):
        raise NotPermitted(_("Only a nurse verifies bags at the bedside."))
    now = now or utcnow()
    weight_kg = _weight(weight_kg)
    ward_code = (ward_code or "").strip().upper() or None
    facts = gather(
        bag_code=bag_code, patient_code=patient_code, ward_code=ward_code, weight_kg=weight_kg,
        identity_confirmed=identity_confirmed, bag_intact=bag_intact, now=now,
    )
    bag, patient = facts.bag, facts.patient
    checks = run_checks(facts)
    decision = decision_of(checks)
    as_dicts = [c.as_dict() for c in checks]
    verification = Verification(
        created_at=now, nurse_id=by.id, ward_code=ward_code,
        patient_code_scanned=(patient_code or "")[:120], bag_code_scanned=(bag_code or "")[:120],
        patient_id=patient.id if patient else None, bag_id=bag.id if bag else None,
        dose_id=bag.dose_id if bag else None, weight_kg=weight_kg,
        identity_confirmed=identity_confirmed, bag_intact=bag_intact, decision=decision,
        checks=as_dicts,
    )
    db.session.add(verification)
    audit.record(db.session, "bedside.verification", verification, actor=by, new={
        "decision": decision, "ward": ward_code,
        "bag": bag.bag_id if bag else None,
        "patient": patient.subject_id if patient else None,
        "failed": [c.check for c in checks if not c.ok],
        **verification.attestations,
    })
    if decision == NO_GO:
        _record_near_miss(stage="verification", verification_id=verification.id, user=by,
                          ward_code=ward_code, patient_code=patient_code, bag_code=bag_code,
                          checks=as_dicts)
    return verification


# --- nurse 2 -----------------------------------------------------------------------------------


def _attested_by_nurse_1(verification: Verification) -> dict:
    """What the bag's history says about the verification it moves on: nurse 1's answers,
    read from the record (nurse 2 and the start never re-attest)."""
    return {"verification": verification.id, **verification.attestations}


def _same_scans(verification: Verification, patient: Patient | None,
                bag: Bag | None) -> Check:
    if patient is None or patient.id != verification.patient_id:
        return Check("same_scans", False,
                     _("the second wristband scan does not match the first"))
    if bag is None or bag.id != verification.bag_id:
        return Check("same_scans", False, _("the second bag scan does not match the first"))
    return Check("same_scans", True, _("both scans repeated and matching"))


def confirm(
    verification: Verification, *, username: str, password: str, patient_code: str,
    bag_code: str, by: User, now: datetime | None = None,
) -> Verification:
    """Nurse 2, a different user who holds the nurse role, scans wristband and bag again; every
    check runs again, and only if all pass does nurse 2 sign "bedside_verification" (SPEC 4.8).

    A verification is confirmed once, and only while it is fresh: nurse 1's weight and
    answers are today's only for the protocol's validity time.
    """
    from ..bagging import service as bagging
    from ..trial import service as trial

    if not by.can("bedside.verify"):
        raise NotPermitted(_("Only a nurse confirms bedside verifications."))
    if verification.decision != GO:
        raise Conflict(_("This verification was NO-GO: it cannot be confirmed. Scan again."))
    if infusion_of(verification) is not None:
        raise Conflict(_("This verification was already used to start an infusion."))
    if verification.confirmed_at is not None:
        raise Conflict(_("This verification is already confirmed by a second nurse: start the "
                         "infusion, or verify again at the bedside."))
    now = now or utcnow()
    validity = timedelta(minutes=int(protocol.value("verification_validity_minutes")))
    if now - verification.created_at > validity:
        raise Conflict(_("This verification is older than %(minutes)d minutes: verify again at "
                         "the bedside with today's weight.",
                         minutes=int(validity.total_seconds() // 60)))
    try:
        signature = esign.sign(
            db.session, username=username or "", password=password or "",
            meaning="bedside_verification", entity=("verification", str(verification.id)),
            content={"verification": verification.id, "bag_id": verification.bag_id,
                     "patient_id": verification.patient_id, "dose_id": verification.dose_id,
                     "at": now.isoformat()},
        )
    except AuthenticationFailed:
        raise DomainError(_("The second nurse's username or password was not accepted."),
                          field_errors={"password": [_("Not accepted.")]}) from None
    signer = signature.user
    if signer.id == verification.nurse_id:
        raise DomainError(_("The second nurse must be a different user from the nurse who "
                            "verified: %(name)s cannot confirm their own verification.",
                            name=signer.full_name), field_errors={"username": [_("Same user.")]})
    if "nurse" not in signer.role_names:
        raise DomainError(_("Only a nurse may confirm a bedside verification."),
                          field_errors={"username": [_("Not a nurse.")]})
    facts = gather(
        bag_code=bag_code, patient_code=patient_code, ward_code=verification.ward_code,
        weight_kg=verification.weight_kg, identity_confirmed=verification.identity_confirmed,
        bag_intact=verification.bag_intact, now=now,
    )
    facts.extra.append(_same_scans(verification, facts.patient, facts.bag))
    results = run_checks(facts)
    checks = [c.as_dict() for c in results]
    if decision_of(results) != GO:
        _refuse_with_near_miss(stage="confirmation", verification=verification, user=signer,
                               patient_code=patient_code, bag_code=bag_code, checks=checks)
    bag, patient = db.session.get(Bag, facts.bag.id), facts.patient
    if bag.status == "verified" and verification.confirmed_at is None:
        previous = last_confirmation(bag)
        if previous is not None and previous.id != verification.id and is_valid(previous, now):
            raise Conflict(_("This bag was already confirmed by a second nurse: start the "
                             "infusion from that verification."))
    verification.confirmed_at = now
    verification.confirmed_by_id = signer.id
    verification.signature_id = signature.id
    verification.confirm_checks = checks
    audit.record(db.session, "bedside.confirmed", verification, actor=signer,
                 new={"bag": bag.bag_id, "patient": patient.subject_id,
                      "signature_id": signature.id})
    # A lapsed confirmation left the bag `verified` in the table (reading never writes): the
    # new signature renews it without a move.
    if bag.status == "received_on_ward":
        bagging.transition_bag(bag, "verified", by=signer, signature=signature,
                               reason="second nurse confirmed", at=now,
                               details=_attested_by_nurse_1(verification))
    if bag.dose.state == "bag_ready":
        trial.transition_dose(bag.dose, "verified", by=signer,
                              reason="bedside verification confirmed")
    return verification


# --- the start of the infusion -----------------------------------------------------------------


def _lock_bag(bag_id: int) -> Bag:
    """SPEC 4.8: the bag row is locked until commit, so of several devices starting the same
    bag at once only the first finds it not infused (SELECT ... FOR UPDATE on PostgreSQL;
    SQLite has one writer at a time). The unique infusion.bag_id is the last guard."""
    return db.session.scalars(
        sa.select(Bag).where(Bag.id == bag_id).with_for_update(of=Bag)
        .execution_options(populate_existing=True)
    ).one()


def _validity_check(verification: Verification, now: datetime) -> Check:
    if verification.confirmed_at is None:
        return Check("verification_valid", False,
                     _("not confirmed by a second nurse"))
    until = valid_until(verification)
    from ..core.clock import format_local

    if now >= until:
        return Check("verification_valid", False,
                     _("verification lapsed at %(t)s: verify again", t=format_local(until)))
    return Check("verification_valid", True,
                 _("verification valid until %(t)s", t=format_local(until)))


def start_infusion(verification: Verification, *, by: User,
                   now: datetime | None = None) -> Infusion:
    """Start the one infusion of the verified bag: the checks run once more (expiry, hold,
    already infused, verification still valid, and the rest)."""
    from ..bagging import service as bagging
    from ..trial import service as trial

    if not by.can("infusion.record"):
        raise NotPermitted(_("Only a nurse starts an infusion."))
    if verification.bag_id is None or verification.decision != GO:
        raise Conflict(_("This verification was NO-GO: no infusion can start from it."))
    now = now or utcnow()
    bag = _lock_bag(verification.bag_id)
    patient = verification.patient
    facts = gather(
        bag_pk=bag.id, patient_pk=patient.id, ward_code=verification.ward_code,
        weight_kg=verification.weight_kg, identity_confirmed=verification.identity_confirmed,
        bag_intact=verification.bag_intact, now=now,
    )
    facts.extra.append(_validity_check(verification, now))
    results = run_checks(facts)
    checks = [c.as_dict() for c in results]
    if decision_of(results) != GO or bag.status != "verified":
        _refuse_with_near_miss(stage="start", verification=verification, user=by,
                               patient_code=verification.patient_code_scanned,
                               bag_code=verification.bag_code_scanned, checks=checks)
    infusion = Infusion(bag_id=bag.id, verification_id=verification.id, patient_id=patient.id,
                        dose_id=bag.dose_id, started_at=now, started_by_id=by.id)
    try:
        with db.session.begin_nested():
            db.session.add(infusion)
    except IntegrityError:
        raise Conflict(_("bag already infused")) from None
    bagging.transition_bag(bag, "infusing", by=by, reason="infusion started", at=now,
                           details=_attested_by_nurse_1(verification))
    if bag.dose.state == "verified":
        trial.transition_dose(bag.dose, "infused", by=by, reason="infusion started")
    audit.record(db.session, "infusion.started", infusion, actor=by, new={
        "bag": bag.bag_id, "patient": patient.subject_id, "dose": bag.dose.dose_number,
        "verification": verification.id, "started_at": now,
    })
    return infusion
