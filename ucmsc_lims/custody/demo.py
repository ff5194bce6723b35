"""Demo places (SPEC 8): the demo ward, the pharmacy, the cleanroom and its storage; and any bag
the bagging demo left released for issue is handed to the ward and received there, so that
the bedside works at once on any day."""

from __future__ import annotations

from ..auth.models import User
from ..core.errors import DomainError
from . import service

DEMO_WARD = "L-WARD-5A"
DEMO_PHARMACY = "L-GMP-PHARMACY"
PLACES = (
    (DEMO_WARD, "Ward 5A, Hepatology", "ward"),
    ("L-WARD-7B", "Ward 7B, Gastroenterology", "ward"),
    (DEMO_PHARMACY, "GMP pharmacy", "pharmacy"),
    ("L-CLEANROOM-1", "Cleanroom 1 (grade B)", "cleanroom"),
    ("L-INC-01", "Incubator 1", "incubator"),
    ("L-FRIDGE-01", "Pharmacy fridge 1 (2-8 °C)", "fridge"),
    ("L-DEWAR-01", "Cryo dewar 1", "dewar"),
    ("L-BOX-01", "Courier box 1 (2-8 °C)", "courier_box"),
)


def _places() -> None:
    for code, name, kind in PLACES:
        if service.location_by_code(code) is None:
            service.create_location(code=code, name=name, kind=kind, by=None)


def _deliver_released_bags(users: dict[str, User]) -> int:
    """Released bags go pharmacy -> courier box -> ward, and the nurse scans them in."""
    from ..bagging import service as bagging

    pharmacy = service.get_location(DEMO_PHARMACY)
    box = service.get_location("L-BOX-01")
    ward = service.get_location(DEMO_WARD)
    delivered = 0
    for row in bagging.list_bags(unblinded=True, status="released_for_issue", limit=500):
        bag = row.bag
        try:
            service.record_handoff(bag, to_location=box, from_location=pharmacy,
                                   by=users["technician"], temperature_c=4.8,
                                   destination=ward)
            service.receive_on_ward(bag, ward=ward, by=users["nurse"], temperature_c=5.2)
        except DomainError:
            continue  # a bag that cannot travel (expired) stays where it is
        delivered += 1
    return delivered


def seed(users: dict[str, User]) -> None:
    _places()
    _deliver_released_bags(users)


def refresh_today(users: dict[str, User]) -> None:
    _places()
    _deliver_released_bags(users)
