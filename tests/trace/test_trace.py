"""Trace completeness for every identifier kind, and the blinded masking of SPEC 4.9."""

from __future__ import annotations

import pytest

from tests.factories.manufacturing import make_batch
from tests.trace.conftest import BAG_SIDE_KINDS, BLINDED_ROLES, UPSTREAM_KINDS, ids, kinds
from ucmsc_lims.core.errors import NotFound
from ucmsc_lims.core.isbt128 import check_character
from ucmsc_lims.trace import service


def test_qa_trace_of_an_arm_a_bag_contains_its_lot_its_donor_and_its_patient(chain, users):
    result = service.trace(chain.bag_a.code, reader=users["qa"])

    donor = chain.batch.collection.donor
    assert result.root == f"bag:{chain.bag_a.bag_id}"
    assert {f"lot:{chain.batch.lot_id}", f"lot:{chain.bank.lot_id}", f"donor:{donor.code}",
            f"collection:{chain.batch.din}",
            f"patient:{chain.patient_a.subject_id}"} <= ids(result)
    assert (f"lot:{chain.batch.lot_id}", f"bag:{chain.bag_a.bag_id}", "filled_into") in {
        (e.source, e.target, e.kind) for e in result.edges}
    bag = result.node(f"bag:{chain.bag_a.bag_id}").as_dict()
    assert bag["arm"] == "A" and bag["lot_id"] == chain.batch.lot_id


def test_blinded_inspector_trace_of_the_same_bag_contains_no_lot_and_no_donor(chain, users):
    result = service.trace(chain.bag_a.code, reader=users["inspector"])

    assert kinds(result) <= BAG_SIDE_KINDS
    assert f"patient:{chain.patient_a.subject_id}" in ids(result)
    assert chain.batch.lot_id not in str(result.as_dict())
    assert chain.batch.din not in str(result.as_dict())
    bag = result.node(f"bag:{chain.bag_a.bag_id}").as_dict()
    assert "arm" not in bag and "lot_id" not in bag


def test_a_lots_trace_contains_its_bags_for_qa(chain, users):
    result = service.trace(chain.batch.lot_id, reader=users["qa"])

    assert {f"bag:{chain.bag_a.bag_id}", f"bag:{chain.bag_infused.bag_id}"} <= ids(result)
    assert f"bag:{chain.bag_b.bag_id}" not in ids(result)
    assert f"infusion:{chain.infusion.id}" in ids(result)
    assert result.node(f"lot:{chain.batch.lot_id}").fields["cells_allocated"] > 0


@pytest.mark.parametrize("role", ["nurse", "inspector"])
def test_a_lots_trace_contains_no_bag_for_a_blinded_reader(chain, users, role):
    result = service.trace(chain.batch.lot_id, reader=users[role])

    assert f"lot:{chain.batch.lot_id}" in ids(result)
    assert not kinds(result) & BAG_SIDE_KINDS
    assert "cells_allocated" not in result.node(f"lot:{chain.batch.lot_id}").fields


def _identifiers(chain):
    din = chain.batch.din
    donor = chain.batch.collection.donor
    material = chain.materials.saline
    return {
        "din barcode": (f"={din}00", f"collection:{din}"),
        "din keyboard": (f"{din} 00 {check_character(din)}", f"collection:{din}"),
        "lot id": (chain.batch.lot_id.lower(), f"lot:{chain.batch.lot_id}"),
        "material lot code": (material.code, f"material_lot:{material.code}"),
        "bag code": (chain.bag_a.code, f"bag:{chain.bag_a.bag_id}"),
        "bag id": (chain.bag_a.bag_id, f"bag:{chain.bag_a.bag_id}"),
        "wristband code": (chain.patient_a.code, f"patient:{chain.patient_a.subject_id}"),
        "subject id": (chain.patient_a.subject_id, f"patient:{chain.patient_a.subject_id}"),
        "infusion id": (f"infusion:{chain.infusion.id}", f"infusion:{chain.infusion.id}"),
        "donor code": (donor.code, f"donor:{donor.code}"),
    }


@pytest.mark.parametrize("kind", [
    "din barcode", "din keyboard", "lot id", "material lot code", "bag code", "bag id",
    "wristband code", "subject id", "infusion id", "donor code",
])
def test_every_identifier_kind_opens_its_trace_up_and_down(chain, users, kind):
    identifier, root = _identifiers(chain)[kind]

    result = service.trace(identifier, reader=users["qa"])

    assert result.root == root
    assert root in ids(result)
    # every chain in this seed reaches from the donor to at least one patient
    assert {"donor", "lot", "patient"} <= kinds(result) or kind == "material lot code"
    if kind == "material lot code":
        assert {f"bag:{b.bag_id}" for b in (chain.bag_a, chain.bag_b)} <= ids(result)


def test_an_infusion_trace_follows_its_bag_to_the_lot_for_qa(chain, users):
    result = service.trace(f"infusion:{chain.infusion.id}", reader=users["pharmacist"])

    assert {f"bag:{chain.bag_infused.bag_id}", f"lot:{chain.batch.lot_id}",
            f"patient:{chain.patient_infused.subject_id}"} <= ids(result)
    assert f"bag:{chain.bag_a.bag_id}" not in ids(result)


def test_a_saline_bag_traces_to_its_saline_lot_and_no_batch(chain, users):
    result = service.trace(chain.bag_b.code, reader=users["pharmacist"])

    assert f"material_lot:{chain.materials.saline.code}" in ids(result)
    assert "lot" not in kinds(result)
    assert result.node(f"bag:{chain.bag_b.bag_id}").fields["arm"] == "B"


def test_an_unknown_identifier_is_refused_in_plain_words(chain, users):
    with pytest.raises(NotFound) as refused:
        service.trace("NO-SUCH-THING", reader=users["qa"])

    assert "Nothing you may trace matches 'NO-SUCH-THING'" in refused.value.message


@pytest.mark.parametrize("role", BLINDED_ROLES)
def test_every_blinded_role_traces_a_bag_or_patient_without_anything_upstream(
        chain, users, role):
    for identifier in (chain.bag_a.code, chain.patient_infused.code,
                       f"infusion:{chain.infusion.id}"):
        result = service.trace(identifier, reader=users[role])

        assert result.blinded
        assert not kinds(result) & UPSTREAM_KINDS, (identifier, kinds(result))
        assert {e.kind for e in result.edges} <= {"allocated_to", "moved", "infused",
                                                  "received", "reported"}


@pytest.mark.parametrize("role", BLINDED_ROLES)
def test_every_blinded_role_traces_a_lot_donor_or_material_without_bags(chain, users, role):
    donor = chain.batch.collection.donor
    for identifier in (chain.batch.lot_id, chain.bank.lot_id, donor.code,
                       chain.materials.saline.code, chain.batch.din):
        result = service.trace(identifier, reader=users[role])

        assert not kinds(result) & BAG_SIDE_KINDS, (identifier, kinds(result))
        assert not {e.kind for e in result.edges} & {"filled_into", "allocated_to", "moved",
                                                     "infused"}


def _shape(result) -> list:
    return sorted((n.kind, n.status or "", tuple(sorted(n.as_dict()))) for n in result.nodes) + \
        sorted(e.kind for e in result.edges)


@pytest.mark.parametrize("role", BLINDED_ROLES)
def test_blinded_traces_of_a_lot_with_bags_and_one_without_have_the_same_shape(
        chain, users, role):
    unused = make_batch(users, bank=chain.bank, vials=(2,))

    with_bags = service.trace(chain.batch.lot_id, reader=users[role])
    without = service.trace(unused.lot_id, reader=users[role])

    assert _shape(with_bags) == _shape(without)
    assert _shape(service.trace(chain.batch.lot_id, reader=users["qa"])) != _shape(
        service.trace(unused.lot_id, reader=users["qa"]))


def test_a_bag_trace_shows_its_custody_events_in_the_order_they_happened(chain, users):
    result = service.trace(chain.bag_a.bag_id, reader=users["nurse"])
    events = result.of_kind("custody_event")
    assert [e.fields["action"] for e in events] == ["handoff", "receipt"]
    assert [e.fields["to_location"] for e in events] == ["L-BOX-01", "L-WARD-5A"]
    assert all(e.status == "intact" for e in events)
    moved = [(edge.source, edge.target) for edge in result.edges if edge.kind == "moved"]
    assert moved == [(f"bag:{chain.bag_a.bag_id}", e.id) for e in events]


def test_a_batch_trace_shows_its_passages_for_every_reader(chain, users):
    for reader in ("qa", "inspector"):
        result = service.trace(chain.batch.lot_id, reader=users[reader])
        passages = [n for n in result.of_kind("passage")
                    if n.fields["lot_id"] == chain.batch.lot_id]
        assert [p.fields["number"] for p in passages] == [
            p.number for p in chain.batch.passages] and passages
        assert all(p.fields["cells_harvested"] > 0 for p in passages)
        assert (f"lot:{chain.batch.lot_id}", passages[0].id, "passaged") in {
            (e.source, e.target, e.kind) for e in result.edges}


def test_a_passage_or_custody_event_traces_from_the_record_it_belongs_to(chain, users):
    bag_trace = service.trace(chain.bag_a.bag_id, reader=users["qa"])
    event = bag_trace.of_kind("custody_event")[0]
    assert service.trace(event.id, reader=users["qa"]).root == f"bag:{chain.bag_a.bag_id}"
    passage = bag_trace.of_kind("passage")[0]
    assert service.trace(passage.id, reader=users["qa"]).root == f"lot:{passage.fields['lot_id']}"
