"""SPEC 4.4: the allocation list is stored, reproducible from its seed, and only unblinded roles
see it."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from tests.factories.trial import TEST_SEED, make_allocation_list
from ucmsc_lims.core.audit import AuditEntry
from ucmsc_lims.core.errors import DomainError, NotPermitted
from ucmsc_lims.trial import allocations
from ucmsc_lims.trial.models import Allocation, AllocationList
from ucmsc_lims.trial.randomization import generate_allocation


def test_a_generated_list_is_stored_and_reproduces_from_its_seed(db, users):
    make_allocation_list(users, strata=("CPA", "CPB"), per_stratum=12)
    stored = [(a.stratum, a.randomization_number, a.arm)
              for a in allocations.allocations(by=users["pharmacist"])]
    again = [(a.stratum, a.randomization_number, a.arm)
             for a in generate_allocation(TEST_SEED, ["CPA", "CPB"], 12)]
    assert sorted(stored) == sorted(again)
    assert {arm for _, _, arm in stored} == {"A", "B"}


def test_only_the_seed_fingerprint_is_kept_never_the_seed(db, users):
    stored = make_allocation_list(users)
    assert stored.seed_fingerprint == hashlib.sha256(TEST_SEED).hexdigest()
    entry = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "allocation.generated")).one()
    assert TEST_SEED.hex() not in (entry.new or "")
    assert stored.seed_fingerprint in entry.new
    # The generation entry may be read by blinded auditors: it names no arm.
    assert '"A"' not in entry.new and '"B"' not in entry.new


def test_the_secret_seed_comes_from_the_environment(db, users, monkeypatch):
    secret = bytes(range(100, 132))
    monkeypatch.setenv("RANDOMIZATION_SEED", secret.hex())
    stored = allocations.generate_list(by=users["pharmacist"], strata=["CPA"], per_stratum=4)
    assert stored.seed_fingerprint == hashlib.sha256(secret).hexdigest()


def test_a_short_secret_seed_is_refused(db, users, monkeypatch):
    monkeypatch.setenv("RANDOMIZATION_SEED", "abcd")
    with pytest.raises(DomainError, match="at least 16 bytes"):
        allocations.generate_list(by=users["pharmacist"], strata=["CPA"], per_stratum=4)


def test_a_stored_stratum_is_never_replaced(db, users):
    make_allocation_list(users, strata=("CPA",))
    with pytest.raises(DomainError, match="already stored for stratum 'CPA'"):
        make_allocation_list(users, strata=("CPA", "CPC"))
    make_allocation_list(users, strata=("CPC",))
    assert allocations.stored_strata() == {"CPA", "CPC"}


def test_an_imported_csv_is_validated_and_stored(db, users):
    text = "stratum,randomization_number,arm\nCPA,1,A\nCPA,2,B\nCPA,3,B\nCPA,4,A\n"
    stored = allocations.import_list(text, by=users["pharmacist"], filename="list.csv")
    assert stored.source == "imported" and stored.seed_fingerprint is None
    arms = [a.arm for a in allocations.allocations(by=users["pharmacist"])]
    assert arms == ["A", "B", "B", "A"]


def test_a_bad_csv_is_refused_with_its_lines_and_nothing_is_stored(db, users):
    with pytest.raises(DomainError, match="line 3: arm must be A or B"):
        allocations.import_list("stratum,randomization_number,arm\nCPA,1,A\nCPA,2,C\n",
                                by=users["pharmacist"])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Allocation)) == 0


def test_only_the_pharmacist_generates_the_list(db, users):
    with pytest.raises(NotPermitted):
        allocations.generate_list(by=users["investigator"], strata=["CPA"], per_stratum=4,
                                  seed=TEST_SEED)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AllocationList)) == 0


@pytest.mark.parametrize("username", ["investigator", "nurse", "inspector", "admin"])
def test_the_list_page_is_closed_to_blinded_roles(db, users, login_as, username):
    make_allocation_list(users)
    client = login_as(username)
    assert client.get("/trial/randomization?stratum=CPA").status_code == 403
    assert client.get("/trial/randomization.csv").status_code == 403


def test_the_pharmacist_sees_the_list_with_arms_and_generates_from_the_page(
    db, users, login_as, monkeypatch
):
    monkeypatch.setenv("RANDOMIZATION_SEED", TEST_SEED.hex())
    client = login_as("pharmacist")
    response = client.post("/trial/randomization/generate",
                           data={"strata": "CPA", "per_stratum": "6", "block_sizes": "2, 4"})
    assert response.status_code == 302
    page = client.get("/trial/randomization?stratum=CPA").get_data(as_text=True)
    assert hashlib.sha256(TEST_SEED).hexdigest() in page
    assert "<td>A</td>" in page and "<td>B</td>" in page
    csv = client.get("/trial/randomization.csv").get_data(as_text=True)
    assert csv.startswith("stratum,randomization_number,arm")


def test_importing_a_bad_file_from_the_page_names_the_problem(db, users, login_as):
    import io

    client = login_as("pharmacist")
    response = client.post("/trial/randomization/import", data={
        "file": (io.BytesIO(b"stratum,number,arm\nCPA,1,A\n"), "list.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert "missing column(s): randomization_number" in response.get_data(as_text=True)
