"""Trace fixtures: one seeded chain (bank, batch, two arm-A bags, one infused, one saline bag)."""

from __future__ import annotations

import pytest

from tests.factories.trace import seeded_chain

BLINDED_ROLES = ("nurse", "investigator", "inspector", "admin")
UPSTREAM_KINDS = {"donor", "collection", "lot", "passage", "material_lot", "qc_result",
                  "signature"}
BAG_SIDE_KINDS = {"bag", "custody_event", "patient", "infusion", "adverse_event"}


@pytest.fixture
def chain(db, users):
    return seeded_chain(users)


def ids(result) -> set[str]:
    return {n.id for n in result.nodes}


def kinds(result) -> set[str]:
    return {n.kind for n in result.nodes}
