"""Locations, hand-offs and bags received on the ward, built through the custody services."""

from __future__ import annotations

from ucmsc_lims.custody import service as custody
from ucmsc_lims.extensions import db

from .bagging import patient_in_arm, released_bag

WARD = "L-WARD-5A"


def location(code: str, *, kind: str, name: str | None = None, users=None):
    found = custody.location_by_code(code)
    if found is not None:
        return found
    made = custody.create_location(code=code, name=name or code, kind=kind,
                                   by=users["admin"] if users else None)
    db.session.flush()
    return made


def demo_places(users) -> dict:
    return {
        "pharmacy": location("L-PHARMACY", kind="pharmacy", name="Pharmacy", users=users),
        "box": location("L-BOX-01", kind="courier_box", name="Courier box 1", users=users),
        "ward": location(WARD, kind="ward", name="Ward 5A, Hepatology", users=users),
        "other_ward": location("L-WARD-7B", kind="ward", name="Ward 7B", users=users),
    }


def in_transit(users, bag, *, places=None, ward=None, temperature_c: float = 5.0):
    """A released bag handed from the pharmacy to the courier box, addressed to the ward."""
    places = places or demo_places(users)
    custody.record_handoff(bag, to_location=places["box"], by=users["technician"],
                           from_location=places["pharmacy"], temperature_c=temperature_c,
                           destination=ward or places["ward"])
    db.session.flush()
    return bag


def received(users, bag, *, places=None, nurse: str = "nurse"):
    places = places or demo_places(users)
    in_transit(users, bag, places=places)
    custody.receive_on_ward(bag, ward=places["ward"], by=users[nurse], temperature_c=5.5)
    db.session.flush()
    return bag


def bag_on_ward(users, arm: str, **enrollment):
    """A patient in `arm` with dose 1 cleared for today and its bag received on the ward."""
    patient = patient_in_arm(users, arm, **enrollment)
    bag = received(users, released_bag(users, patient))
    return patient, bag


def bag_for_ward(users, arm: str, *, batch, materials, places, ward: str = "ward",
                 receive: bool = True):
    """A patient in `arm` with a released bag from `batch` (or saline) addressed to
    `places[ward]`: received there, or still in transit."""
    patient = patient_in_arm(users, arm, weight_kg=70.0)
    bag = released_bag(users, patient, batch=batch, materials=materials)
    in_transit(users, bag, places=places, ward=places[ward])
    if receive:
        custody.receive_on_ward(bag, ward=places[ward], by=users["nurse"], temperature_c=5.5)
        db.session.flush()
    return patient, bag
