"""Fill sessions (SPEC 4.5): bags bound to their source by scans, refusals in plain words."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import DEMO_PASSWORD, make_user
from tests.factories.bagging import (
    fill_materials,
    filled_bag,
    patient_in_arm,
    printed_bag,
    session,
)
from tests.factories.manufacturing import make_batch
from tests.factories.materials import make_material
from ucmsc_lims.bagging import fill, printing
from ucmsc_lims.bagging.service import source_of
from ucmsc_lims.core.clock import site_today
from ucmsc_lims.core.db import utcnow
from ucmsc_lims.core.errors import DomainError, NotPermitted
from ucmsc_lims.manufacturing import service as manufacturing


@pytest.fixture
def materials(users):
    return fill_materials(users)


def _fill(users, bag, source: str, materials, *, anticoagulant=None, by=None, at=None):
    return fill.fill_bag(
        label_code=bag.code, source_code=source,
        anticoagulant_code=(anticoagulant or materials.heparin).code,
        saline_code=materials.saline.code, container_code=materials.container.code,
        by=by or users["technician"], at=at)


def test_a_cell_bag_holds_the_dose_per_kg_times_the_weight_drawn_from_the_batch(users, materials):
    patient = patient_in_arm(users, "A", weight_kg=80.0)
    batch = make_batch(users)
    before = batch.cells_allocated

    bag = filled_bag(users, patient, batch=batch, materials=materials)

    source = source_of(bag)
    assert bag.status == "filled"
    assert source.arm == "A" and source.lot_id == batch.id
    assert source.cells == pytest.approx(0.5e6 * 80)
    assert source.cells_per_ml == pytest.approx(0.5e6 * 80 / 100)
    assert batch.cells_allocated == pytest.approx(before + 0.5e6 * 80)
    assert patient.doses[0].state == "bag_ready"
    assert patient.doses[0].prepared_weight_kg == 80.0


def test_a_saline_bag_gets_the_same_volume_and_expiry_rule_as_a_cell_bag(users, materials):
    cell_patient = patient_in_arm(users, "A")
    saline_patient = patient_in_arm(users, "B")
    at = utcnow()

    cell_bag = filled_bag(users, cell_patient, materials=materials, at=at)
    saline_bag = filled_bag(users, saline_patient, materials=materials, at=at)

    assert cell_bag.volume_ml == saline_bag.volume_ml == 100
    # Labels show minutes, so the expiry is kept to the whole minute (bagging/fill.py).
    assert cell_bag.expires_at == saline_bag.expires_at == (
        at + timedelta(hours=6)).replace(second=0, microsecond=0)
    assert source_of(saline_bag).lot_id is None
    assert source_of(saline_bag).source_material_id == materials.saline.id


def test_a_batch_that_is_not_released_is_refused(users, materials):
    patient = patient_in_arm(users, "A")
    batch = make_batch(users, state="qc_pending")
    bag = printed_bag(users, patient)

    with pytest.raises(DomainError, match="qc pending, not released"):
        _fill(users, bag, batch.lot_id, materials)
    assert bag.status == "pending_fill"


def test_a_batch_with_too_few_cells_left_is_refused(users, materials):
    patient = patient_in_arm(users, "A", weight_kg=80.0)
    batch = make_batch(users)
    manufacturing.allocate_cells(batch, batch.cells_left - 1.0e7, by=users["technician"],
                                 reference="earlier bags")
    bag = printed_bag(users, patient)

    with pytest.raises(DomainError, match="cells left; 4e\\+07 are needed"):
        _fill(users, bag, batch.lot_id, materials)


def test_a_bag_is_made_only_for_a_dose_the_investigator_cleared(users):
    patient = patient_in_arm(users, "B", clear_first=False)

    with pytest.raises(DomainError, match="a bag is made only for a dose the investigator "
                                          "cleared"):
        fill.create_bag(patient.doses[0], session=session(users), by=users["technician"])


def test_a_bag_is_made_only_for_a_dose_due_today(users):
    patient = patient_in_arm(users, "A", clear_first=False, day0=site_today() + timedelta(days=2))

    with pytest.raises(DomainError, match=r"is due on .*, not today"):
        fill.create_bag(patient.doses[0], session=session(users), by=users["technician"])


def test_a_cell_dose_refuses_a_saline_source(users, materials):
    bag = printed_bag(users, patient_in_arm(users, "A"))

    with pytest.raises(DomainError, match="This dose needs cells: scan a released product "
                                          "batch, not a saline lot"):
        _fill(users, bag, materials.saline.code, materials)


def test_a_saline_dose_refuses_a_product_batch(users, materials):
    bag = printed_bag(users, patient_in_arm(users, "B"))
    batch = make_batch(users)

    with pytest.raises(DomainError, match="This dose is prepared with saline only"):
        _fill(users, bag, batch.lot_id, materials)


def test_an_expired_material_lot_is_refused(users, materials):
    bag = printed_bag(users, patient_in_arm(users, "B"))
    old = make_material(users, kind="container", name="Infusion bag 150 mL",
                        expires_on=site_today() - timedelta(days=1))

    with pytest.raises(DomainError, match=f"Material lot {old.code} .* expired on"):
        fill.fill_bag(label_code=bag.code, source_code=materials.saline.code,
                      anticoagulant_code=materials.heparin.code,
                      saline_code=materials.saline.code, container_code=old.code,
                      by=users["technician"])


def _heparin_refusal(users, materials, arm: str) -> str:
    patient = patient_in_arm(users, arm, contraindications=frozenset({"heparin_allergy"}))
    bag = printed_bag(users, patient)
    source = make_batch(users).lot_id if arm == "A" else materials.saline.code
    with pytest.raises(DomainError) as refused:
        _fill(users, bag, source, materials)
    return refused.value.message


def test_heparin_is_refused_for_a_contraindicated_patient_with_the_same_words_in_both_arms(
        users, materials):
    cell_message = _heparin_refusal(users, materials, "A")
    saline_message = _heparin_refusal(users, materials, "B")

    assert cell_message == saline_message == fill.HEPARIN_REFUSED


def test_acd_a_is_accepted_for_a_patient_with_a_heparin_contraindication(users, materials):
    patient = patient_in_arm(users, "B", contraindications=frozenset({"heparin_allergy"}))

    bag = filled_bag(users, patient, materials=materials, anticoagulant=materials.acd)

    assert bag.status == "filled"


def test_the_operator_cannot_verify_their_own_fill(users, materials):
    both = make_user("techpharm", {"technician", "pharmacist"})
    patient = patient_in_arm(users, "B")
    bag = printed_bag(users, patient)
    _fill(users, bag, materials.saline.code, materials, by=both)

    with pytest.raises(NotPermitted, match="Whoever verifies a fill is not the one who filled "
                                           "it"):
        fill.verify_fill(bag, by=both, password=DEMO_PASSWORD)
    assert bag.fill_verified_at is None


def test_a_voided_label_is_refused_at_filling(users, materials):
    bag = printed_bag(users, patient_in_arm(users, "B"))
    old_code = bag.code
    printing.print_label(bag, fmt="pdf", reason="label smudged", by=users["technician"])

    with pytest.raises(DomainError, match="This label was voided"):
        fill.fill_bag(label_code=old_code, source_code=materials.saline.code,
                      anticoagulant_code=materials.heparin.code,
                      saline_code=materials.saline.code,
                      container_code=materials.container.code, by=users["technician"])


def test_a_label_that_was_never_printed_cannot_be_filled(users, materials):
    patient = patient_in_arm(users, "B")
    bag = fill.create_bag(patient.doses[0], session=session(users), by=users["technician"])

    with pytest.raises(DomainError, match="has not been printed yet"):
        _fill(users, bag, materials.saline.code, materials)


def test_release_for_issue_needs_the_fill_verified_first(users, materials):
    bag = filled_bag(users, patient_in_arm(users, "B"), materials=materials)

    with pytest.raises(DomainError, match="fill has not been verified"):
        fill.release_for_issue(bag, by=users["pharmacist"], password=DEMO_PASSWORD)


def test_a_cell_bag_is_not_released_for_issue_while_its_batch_is_on_hold(users, materials):
    batch = make_batch(users)
    bag = filled_bag(users, patient_in_arm(users, "A"), batch=batch, materials=materials)
    fill.verify_fill(bag, by=users["pharmacist"], password=DEMO_PASSWORD)
    manufacturing.transition(batch, "on_hold", by=users["qa"], reason="sterility query")

    with pytest.raises(DomainError, match=f"Product batch {batch.lot_id} is on hold"):
        fill.release_for_issue(bag, by=users["pharmacist"], password=DEMO_PASSWORD)


def test_labels_printed_equal_labels_applied_plus_labels_voided(users, materials):
    first = printed_bag(users, patient_in_arm(users, "B"))
    second = printed_bag(users, patient_in_arm(users, "B"))
    printing.print_label(first, fmt="pdf", reason="torn", by=users["technician"])
    for bag in (first, second):
        _fill(users, bag, materials.saline.code, materials)
    printing.print_label(second, fmt="pdf", reason="wet label", by=users["pharmacist"])

    counts = fill.reconciliation(session(users))

    assert (counts.printed, counts.applied, counts.voided) == (4, 2, 2)
    assert counts.balanced


def test_the_session_sheet_prints_a_label_for_every_cleared_due_dose(users):
    patients = [patient_in_arm(users, "A"), patient_in_arm(users, "B")]
    today = session(users)

    pdf = printing.print_session_labels(today, by=users["technician"])

    bags = fill.session_bags(today)
    assert pdf.startswith(b"%PDF")
    assert sorted(b.subject_id for b in bags) == sorted(p.subject_id for p in patients)
    assert fill.reconciliation(today).printed == 2
    with pytest.raises(DomainError, match="Every due dose's label is printed already"):
        printing.print_session_labels(today, by=users["technician"])
