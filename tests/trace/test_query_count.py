"""The number of SQL statements of a trace does not grow with the number of bags: each layer
is one query over an IN list (SPEC 9)."""

from __future__ import annotations

from tests.factories.bagging import fill_materials, released_bag
from tests.factories.custody import received
from tests.factories.manufacturing import make_bank, make_batch
from tests.factories.trace import infuse
from tests.factories.trial import clear, enroll, make_allocation_list
from ucmsc_lims.extensions import db
from ucmsc_lims.trace import service
from ucmsc_lims.trial import service as trial

DOSE_CELLS = 0.5e6 * 70


def build_chain(users, bags: int):
    """One donor's bank, as many batches as the cell bags need, `bags` bags of both arms
    filled with one saline lot, the first cell bag infused."""
    materials = fill_materials(users)
    bank = make_bank(users, vials=12)
    vial = iter(range(1, 13))
    batch = make_batch(users, bank=bank, vials=(next(vial),))
    first_cell_bag = None
    for _ in range(bags):
        patient = enroll(users, weight_kg=70.0)
        clear(users, patient.doses[0])
        if trial.arm_of(patient) == "A" and batch.cells_left < DOSE_CELLS * 1.5:
            batch = make_batch(users, bank=bank, vials=(next(vial),))
        bag = released_bag(users, patient, batch=batch, materials=materials)
        if first_cell_bag is None and trial.arm_of(patient) == "A":
            first_cell_bag = (patient, received(users, bag))
    infuse(users, *first_cell_bag)
    db.session.flush()
    return bank, materials.saline


def statements(query_counter, identifier, reader) -> tuple[int, int]:
    db.session.expunge_all()
    with query_counter() as counted:
        result = service.trace(identifier, reader=reader)
    return counted.count, len(result.of_kind("bag"))


def test_a_trace_runs_as_many_queries_for_100_bags_as_for_10(db, users, query_counter):
    make_allocation_list(users, strata=("CPA",), per_stratum=240)
    small_bank, small_saline = build_chain(users, 10)
    large_bank, large_saline = build_chain(users, 100)
    donor_small = small_bank.collection.donor.code
    donor_large = large_bank.collection.donor.code

    for reader in ("qa", "pharmacist"):
        by_donor_small = statements(query_counter, donor_small, users[reader])
        by_donor_large = statements(query_counter, donor_large, users[reader])
        by_saline_small = statements(query_counter, small_saline.code, users[reader])
        by_saline_large = statements(query_counter, large_saline.code, users[reader])

        assert by_saline_small[1] == 10 and by_saline_large[1] == 100
        assert by_donor_small[0] == by_donor_large[0], (by_donor_small, by_donor_large)
        assert by_saline_small[0] == by_saline_large[0], (by_saline_small, by_saline_large)
