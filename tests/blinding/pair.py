"""Two patients built the same way, one in each arm, through the same service calls in the same
order (pairwise), from enrollment to the end of the infusion: the records the blinding harness
renders side by side. The held pair stops on the ward instead: the cell bag held by what is in
it (its batch held or recalled, or a look-back), the saline bag by placebo parity."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.factories import DEMO_PASSWORD
from tests.factories.bagging import fill_materials
from tests.factories.custody import WARD, demo_places
from tests.factories.manufacturing import make_batch
from tests.factories.trial import clear, enroll, make_allocation_list
from ucmsc_lims.bagging import fill, printing
from ucmsc_lims.bagging.models import Bag
from ucmsc_lims.bedside import infusions
from ucmsc_lims.bedside import service as bedside
from ucmsc_lims.bedside.models import Infusion, Verification
from ucmsc_lims.custody import service as custody
from ucmsc_lims.custody import shipments
from ucmsc_lims.extensions import db
from ucmsc_lims.lookback import service as lookback
from ucmsc_lims.qc import release
from ucmsc_lims.trial import service as trial
from ucmsc_lims.trial import unblinding
from ucmsc_lims.trial.models import Patient, UnblindingRequest


@dataclass
class ArmRecord:
    """One arm's patient, dose, bag, bedside verification and infusion."""

    arm: str
    patient: Patient
    bag: Bag | None = None
    verification: Verification | None = None
    infusion: Infusion | None = None
    unblinding: UnblindingRequest | None = None

    @property
    def dose(self):
        return self.patient.doses[0]

    def identifiers(self) -> dict[str, str]:
        """This record's own identifiers, each with the placeholder the masking puts in its
        place (the two arms' records differ by these and nothing else). Randomization numbers
        and verification, infusion and request ids are numbers: the masking hides every
        number."""
        names = {
            self.patient.subject_id: "<SUBJECT>",
            self.patient.code: "<PATIENT-CODE>",
        }
        if self.bag is not None:
            names[self.bag.bag_id] = "<BAG>"
            for issue in self.bag.label_issues:
                names[issue.code] = "<BAG-CODE>"
        return names


@dataclass
class ArmPair:
    a: ArmRecord
    b: ArmRecord
    batch: object
    materials: object
    places: dict
    shipment: object
    users: dict
    others: list = field(default_factory=list)

    @property
    def records(self) -> tuple[ArmRecord, ArmRecord]:
        return self.a, self.b


def _patients_one_per_arm(users) -> tuple[Patient, Patient, list[Patient]]:
    make_allocation_list(users)
    found: dict[str, Patient] = {}
    others = []
    for _ in range(40):
        patient = enroll(users, weight_kg=70.0)
        arm = trial.arm_of(patient)
        if arm in found:
            others.append(patient)
        else:
            found[arm] = patient
        if len(found) == 2:
            return found["A"], found["B"], others
    raise AssertionError("the allocation list gave no patient of each arm in 40 enrollments")


def build_pair(users, *, through: str = "infused") -> ArmPair:
    """Every step is done for arm A and then at once for arm B, so both histories match.

    `through="received"` stops with both bags received on the ward, ready for the bedside."""
    places = demo_places(users)
    materials = fill_materials(users)
    batch = make_batch(users)
    patient_a, patient_b, others = _patients_one_per_arm(users)
    pair = ArmPair(ArmRecord("A", patient_a), ArmRecord("B", patient_b), batch, materials,
                   places, shipment=None, users=users, others=others)
    technician, pharmacist = users["technician"], users["pharmacist"]
    nurse, nurse2 = users["nurse"], users["nurse2"]

    for record in pair.records:
        clear(users, record.dose)
    session = fill.open_session(by=technician)
    for record in pair.records:
        record.bag = fill.create_bag(record.dose, session=session, by=technician)
    for record in pair.records:
        printing.print_label(record.bag, fmt="pdf", by=technician)
    for record in pair.records:
        source = batch.lot_id if record.arm == "A" else materials.saline.code
        fill.fill_bag(label_code=record.bag.code, source_code=source,
                      anticoagulant_code=materials.acd.code, saline_code=materials.saline.code,
                      container_code=materials.container.code, by=technician)
    for record in pair.records:
        fill.verify_fill(record.bag, by=pharmacist, password=DEMO_PASSWORD)
    for record in pair.records:
        fill.release_for_issue(record.bag, by=pharmacist, password=DEMO_PASSWORD)
    # SPEC 4.5: both arms are shipped together.
    pair.shipment = shipments.create_shipment(from_location=places["pharmacy"],
                                              to_location=places["ward"], by=technician)
    for record in pair.records:
        shipments.add_bag(pair.shipment, record.bag, by=technician)
    shipments.dispatch(pair.shipment, by=technician, temperature_c=5.0)
    for record in pair.records:
        custody.receive_on_ward(record.bag, ward=places["ward"], by=nurse, temperature_c=5.5)
    db.session.flush()
    if through == "received":
        return pair
    for record in pair.records:
        record.verification = bedside.verify(
            patient_code=record.patient.code, bag_code=record.bag.code, weight_kg=70.0,
            by=nurse, ward_code=WARD, identity_confirmed=True, bag_intact=True)
        assert record.verification.decision == "GO", record.verification.checks
    for record in pair.records:
        bedside.confirm(record.verification, username="nurse2", password=DEMO_PASSWORD,
                        patient_code=record.patient.code, bag_code=record.bag.code, by=nurse2)
    for record in pair.records:
        record.infusion = bedside.start_infusion(record.verification, by=nurse)
    for record in pair.records:
        infusions.end_infusion(
            record.infusion, by=nurse, outcome="completed",
            volume_infused_ml=float(record.bag.volume_ml), rate_ml_per_h=100.0,
            vitals_before={"systolic_mmhg": 120, "diastolic_mmhg": 80,
                           "heart_rate_bpm": 70, "temperature_c": 36.8},
            vitals_after={"systolic_mmhg": 118, "diastolic_mmhg": 78,
                          "heart_rate_bpm": 72, "temperature_c": 36.9},
            premedication="none")
    _ask_unblinding(pair, users)
    return pair


def _ask_unblinding(pair: ArmPair, users) -> None:
    """An emergency unblinding request for each patient (not confirmed: nobody sees an arm)."""
    for record in pair.records:
        record.unblinding = unblinding.request_unblinding(
            record.patient, by=users["investigator"],
            reason="Severe reaction needing the treatment known")
    db.session.flush()


# What holds the cell bag for its content (SPEC 4.2, 4.9): QA's hold of the batch, its recall,
# a look-back from it.
HOLD_CAUSES = ("lot_hold", "recall", "lookback")


def hold_for_content(pair: ArmPair, cause: str) -> None:
    """Hold arm A's bag for its batch the way `cause` does; nobody touches arm B's bag."""
    qa = pair.users["qa"]
    reason = "Sterility result of the batch under investigation"
    if cause == "lot_hold":
        release.hold_lot(pair.batch, by=qa, username="qa", password=DEMO_PASSWORD,
                         reason=reason)
    elif cause == "recall":
        release.recall_lot(pair.batch, by=qa, username="qa", password=DEMO_PASSWORD,
                           reason=reason)
    else:
        lookback.hold_affected(pair.batch.lot_id, by=qa, username="qa",
                               password=DEMO_PASSWORD, reason=reason)
    db.session.flush()


def build_held_pair(users, cause: str) -> ArmPair:
    """Both bags received on the ward, then the cell bag held for its content; the nurse scans
    each at the bedside (a NO-GO, kept as a near-miss) and the investigator asks for an
    emergency unblinding of each patient (not confirmed)."""
    pair = build_pair(users, through="received")
    hold_for_content(pair, cause)
    for record in pair.records:
        record.verification = bedside.verify(
            patient_code=record.patient.code, bag_code=record.bag.code, weight_kg=70.0,
            by=users["nurse"], ward_code=WARD, identity_confirmed=True, bag_intact=True)
    _ask_unblinding(pair, users)
    return pair
