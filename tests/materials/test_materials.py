"""Material lots: receipt, QA disposition and whether a lot may be used (SPEC 4.2)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories.materials import make_material
from ucmsc_lims.core.db import utcnow
from ucmsc_lims.core.errors import Conflict, DomainError, NotFound, NotPermitted
from ucmsc_lims.materials import service as materials


def test_a_received_material_lot_gets_a_checked_code_and_waits_in_quarantine(db, users):
    material = make_material(users, status="quarantine")
    assert material.status == "quarantine"
    assert materials.get_by_code(material.code.lower()) is material
    with pytest.raises(DomainError) as refused:
        materials.check_usable(material, kind=None, at=utcnow())
    assert "is in quarantine: QA has not released it." in refused.value.message


def test_an_expired_material_lot_is_refused_in_plain_words(db, users):
    material = make_material(users, expires_on=utcnow().date() - timedelta(days=2))
    with pytest.raises(DomainError) as refused:
        materials.check_usable(material, kind="medium", at=utcnow())
    assert refused.value.message == (
        f"Material lot {material.code} (alpha-MEM, supplier lot SL-medium-1) expired on "
        f"{material.expires_on.isoformat()} and cannot be used.")


def test_a_rejected_or_wrong_kind_material_lot_is_refused(db, users):
    rejected = make_material(users, status="rejected")
    with pytest.raises(DomainError, match="was rejected and cannot be used"):
        materials.check_usable(rejected, kind=None, at=utcnow())
    saline = make_material(users, kind="saline", name="NaCl 0.9 %")
    with pytest.raises(DomainError, match="is a saline, not a anticoagulant"):
        materials.check_usable(saline, kind="anticoagulant", at=utcnow())
    materials.check_usable(saline, kind="saline", at=utcnow())


def test_only_qa_releases_a_material_and_a_rejection_is_final(db, users):
    material = make_material(users, status="quarantine")
    with pytest.raises(NotPermitted):
        materials.set_status(material, "released", by=users["technician"])
    materials.set_status(material, "rejected", by=users["qa"], reason="torn packaging")
    with pytest.raises(Conflict, match="is rejected and cannot become released"):
        materials.set_status(material, "released", by=users["qa"])


def test_an_unknown_or_malformed_material_code_is_not_found(db, users):
    with pytest.raises(NotFound, match="No material lot ML000999"):
        materials.get_by_code("ML000999" + __import__("ucmsc_lims.core.isbt128",
                                                      fromlist=["x"]).check_character("ML000999"))
    with pytest.raises(NotFound, match="is not a material lot code"):
        materials.get_by_code("XYZ")
