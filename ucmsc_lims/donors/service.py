"""Donor records, eligibility determination and cord receipt (SPEC 4.1)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from ..auth.models import User
from ..core import audit
from ..core.db import utcnow
from ..core.errors import Conflict, DomainError, NotFound, NotPermitted
from ..core.isbt128 import ScanError, parse_din
from ..extensions import db
from .models import Collection, Donor, DonorTest

# SPEC 4.1: the screening questionnaire and the relevant communicable disease agents. Seasonal
# agents are added to this table as configured for the site.
REQUIRED_TESTS: dict[str, str] = {
    "questionnaire": "Screening questionnaire",
    "hiv": "HIV-1/2 (antibody and NAT)",
    "hbv": "HBV (HBsAg, anti-HBc, NAT)",
    "hcv": "HCV (antibody and NAT)",
    "htlv": "HTLV-I/II antibody",
    "syphilis": "Treponema pallidum",
    "cmv": "CMV",
}
RESULTS = ("negative", "positive", "indeterminate")


def _require(by: User, permission: str) -> None:
    if not by.can(permission):
        raise NotPermitted("Your role does not allow this.")


PAGE_SIZE = 50


def list_donors(*, before: str | None = None, limit: int = PAGE_SIZE) -> tuple[list[Donor], bool]:
    """The newest donors first (codes are handed out in order), a page at a time by key, and
    whether older ones follow."""
    query = sa.select(Donor).order_by(Donor.code.desc()).limit(limit + 1)
    if before:
        query = query.where(Donor.code < before)
    rows = list(db.session.scalars(query))
    return rows[:limit], len(rows) > limit


def get_donor(code: str) -> Donor:
    donor = db.session.scalar(sa.select(Donor).where(Donor.code == code.strip().upper()))
    if donor is None:
        raise NotFound(f"No donor with code {code}.")
    return donor


def _next_donor_code() -> str:
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Donor)) or 0
    return f"D-{count + 1:05d}"


def register_donor(*, consent_date: date, consent_form_version: str, consent_obtained_by: str,
                   by: User, code: str | None = None) -> Donor:
    """A new donor with consent; eligibility starts `pending`."""
    _require(by, "donor.record")
    code = (code or _next_donor_code()).strip().upper()
    if db.session.scalar(sa.select(Donor.id).where(Donor.code == code)):
        raise Conflict(f"A donor with code {code} already exists.")
    if consent_date > utcnow().date():
        raise DomainError("The consent date cannot be in the future.")
    donor = Donor(code=code, consent_date=consent_date, consent_form_version=consent_form_version,
                  consent_obtained_by=consent_obtained_by, eligibility="pending",
                  created_by_id=by.id)
    db.session.add(donor)
    audit.record(db.session, "donor.registered", donor, actor=by, new={
        "code": code, "consent_date": consent_date, "consent_form_version": consent_form_version,
        "consent_obtained_by": consent_obtained_by})
    return donor


def record_test(donor: Donor, *, test: str, result: str, tested_on: date, by: User,
                method: str | None = None) -> DonorTest:
    _require(by, "donor.record")
    if test not in REQUIRED_TESTS:
        raise DomainError(f"Unknown donor test '{test}'.")
    if result not in RESULTS:
        raise DomainError(f"A donor test result is one of {', '.join(RESULTS)}.")
    if donor.eligibility != "pending":
        raise Conflict(f"Donor {donor.code} is already determined {donor.eligibility}: "
                       "results cannot be added after the determination.")
    row = DonorTest(donor=donor, test=test, result=result, tested_on=tested_on,
                    recorded_by_id=by.id, method=method)
    db.session.add(row)
    audit.record(db.session, "donor.test_recorded", donor, actor=by,
                 new={"test": test, "result": result, "tested_on": tested_on})
    return row


def current_tests(donor: Donor) -> dict[str, DonorTest]:
    """The latest valid result of each test."""
    latest: dict[str, DonorTest] = {}
    for row in donor.tests:
        if row.voided_at is None:
            latest[row.test] = row
    return latest


def eligibility_gaps(donor: Donor) -> list[str]:
    """Why the donor cannot be determined eligible, in plain words; empty when she can."""
    tests = current_tests(donor)
    gaps = []
    for test, label in REQUIRED_TESTS.items():
        row = tests.get(test)
        if row is None:
            gaps.append(f"{label}: no result")
        elif row.result != "negative":
            gaps.append(f"{label}: {row.result}")
    return gaps


def determine_eligibility(donor: Donor, *, eligibility: str, by: User,
                          reason: str | None = None, on: date | None = None) -> Donor:
    """SPEC 4.1: the determination is made by a named person with a date."""
    _require(by, "donor.determine")
    if eligibility not in ("eligible", "ineligible"):
        raise DomainError("The determination is eligible or ineligible.")
    if donor.eligibility != "pending":
        raise Conflict(f"Donor {donor.code} is already determined {donor.eligibility}.")
    if eligibility == "eligible":
        gaps = eligibility_gaps(donor)
        if gaps:
            raise DomainError(f"Donor {donor.code} cannot be determined eligible: "
                              + "; ".join(gaps) + ".")
    elif not (reason or "").strip():
        raise DomainError("Give the reason the donor is ineligible.")
    donor.eligibility = eligibility
    donor.determined_by_id = by.id
    donor.determined_by = by
    donor.determined_on = on or utcnow().date()
    donor.determination_reason = reason
    audit.record(db.session, "donor.eligibility_determined", donor, actor=by,
                 old={"eligibility": "pending"}, new={"eligibility": eligibility}, reason=reason)
    return donor


def parse_collection_din(text: str) -> tuple[str, str]:
    """The 13 characters and flags of a scanned or typed DIN, or a plain-words refusal."""
    try:
        din = parse_din(text)
    except ScanError as bad:
        raise DomainError(str(bad), field_errors={"din": [str(bad)]}) from None
    return din.text, din.flags


def get_collection(din: str) -> Collection:
    text = din.strip().upper()
    if len(text) != 13:
        text = parse_collection_din(din)[0]
    collection = db.session.scalar(sa.select(Collection).where(Collection.din == text))
    if collection is None:
        raise NotFound(f"No collection with DIN {text}.")
    return collection


def list_collections(*, status: str | None = None, before_id: int | None = None,
                     oldest_first: bool = False, limit: int = PAGE_SIZE,
                     ) -> tuple[list[Collection], bool]:
    """The latest collections first (or the oldest, for work waiting on them), a page at a
    time by key, and whether more follow."""
    order = Collection.id if oldest_first else Collection.id.desc()
    query = sa.select(Collection).order_by(order).limit(limit + 1)
    if status:
        query = query.where(Collection.status == status)
    if before_id:
        query = query.where(Collection.id < before_id)
    rows = list(db.session.scalars(query))
    return rows[:limit], len(rows) > limit


def receive_collection(*, donor: Donor, din: str, collected_at: datetime, delivery: str,
                       site: str, transport_container: str, transport_temperature_c: float,
                       received_at: datetime, receipt_condition: str, by: User) -> Collection:
    """Record a cord received in the lab; it is accepted or rejected afterwards."""
    _require(by, "donor.record")
    din_text, flags = parse_collection_din(din)
    if db.session.scalar(sa.select(Collection.id).where(Collection.din == din_text)):
        raise Conflict(f"DIN {din_text} is already registered to a collection.")
    if received_at < collected_at:
        raise DomainError("The cord cannot be received before it was collected.")
    collection = Collection(
        din=din_text, din_flags=flags, donor=donor, collected_at=collected_at, delivery=delivery,
        site=site, transport_container=transport_container,
        transport_temperature_c=transport_temperature_c, received_at=received_at,
        receipt_condition=receipt_condition, received_by_id=by.id, status="received")
    db.session.add(collection)
    audit.record(db.session, "collection.received", collection, actor=by, new={
        "din": din_text, "donor": donor.code, "collected_at": collected_at,
        "received_at": received_at, "transport_temperature_c": transport_temperature_c,
        "receipt_condition": receipt_condition})
    return collection


def decide_collection(collection: Collection, *, accept: bool, by: User,
                      reason: str | None = None) -> Collection:
    """Accept or reject a received cord (SPEC 4.1)."""
    _require(by, "donor.record")
    if collection.status != "received":
        raise Conflict(f"Collection {collection.din} is already {collection.status}.")
    if not accept and not (reason or "").strip():
        raise DomainError("Give the reason the cord is rejected.")
    collection.status = "accepted" if accept else "rejected"
    collection.decided_by_id = by.id
    collection.decided_at = utcnow()
    collection.rejection_reason = None if accept else reason
    audit.record(db.session, "collection.decided", collection, actor=by,
                 old={"status": "received"}, new={"status": collection.status}, reason=reason)
    return collection


def release_gaps(collection: Collection) -> list[str]:
    """SPEC 4.1: what keeps lots of this collection from release (donor and receipt)."""
    gaps = []
    if collection.donor.eligibility != "eligible":
        gaps.append(f"Donor {collection.donor.code} is not eligible "
                    f"({collection.donor.eligibility}).")
    if collection.status != "accepted":
        gaps.append(f"Collection {collection.din} is {collection.status}, not accepted.")
    return gaps
