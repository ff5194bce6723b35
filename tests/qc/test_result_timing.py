"""SPEC 4.3: a passing result cannot exist before its sample time plus the test's duration (a
14-day sterility culture, a mycoplasma NAT, an endotoxin assay); a failing one is taken as soon
as it is seen."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories.manufacturing import make_bank, make_batch
from ucmsc_lims.core.clock import format_local, site_today, site_zone
from ucmsc_lims.core.db import utcnow
from ucmsc_lims.core.errors import DomainError
from ucmsc_lims.protocol import service as protocol
from ucmsc_lims.qc import service as qc


def _record(lot, users, test: str, value, **kwargs):
    return qc.record_result(lot, test=test, value=value, method=None, sample_id="S-1",
                            by=users["technician"], **kwargs)


def _refused(lot, users, test: str, value, **kwargs) -> str:
    with pytest.raises(DomainError) as refused:
        _record(lot, users, test, value, **kwargs)
    return refused.value.message


def test_a_sterility_no_growth_on_the_day_of_sampling_is_refused_naming_the_earliest_time(
        db, users):
    lot = make_bank(users, state="qc_pending")
    sampled = utcnow() - timedelta(hours=2)

    message = _refused(lot, users, "sterility", "no growth", sampled_at=sampled)

    assert message == (
        "Sterility (14-day culture) takes 336 h from sampling: sample S-1, taken "
        f"{format_local(sampled)}, can have a passing result from "
        f"{format_local(sampled + timedelta(days=14))}, not before.")
    assert qc.results_of(lot) == []


def test_a_result_without_a_sample_time_counts_as_sampled_now(db, users):
    lot = make_bank(users, state="qc_pending")

    assert "takes 336 h from sampling" in _refused(lot, users, "sterility", "no growth")


def test_a_sterility_no_growth_after_14_days_is_recorded_with_its_sample_time(db, users):
    lot = make_bank(users, state="qc_pending")
    sampled = utcnow() - timedelta(days=14, minutes=1)

    result = _record(lot, users, "sterility", "no growth", sampled_at=sampled)

    assert result.passed and result.sampled_at == sampled


def test_a_growth_is_recorded_as_soon_as_it_is_seen(db, users):
    batch = make_batch(users, skip_qc=("sterility",))

    result = _record(batch, users, "sterility", "growth", sampled_at=utcnow() - timedelta(days=2))

    assert not result.passed
    assert [d.result for d in qc.alerts()] == [result]


def test_mycoplasma_and_endotoxin_have_their_own_durations(db, users):
    lot = make_bank(users, state="qc_pending")
    sampled = utcnow() - timedelta(minutes=30)

    assert "Mycoplasma takes 24 h from sampling" in _refused(
        lot, users, "mycoplasma", "not detected", sampled_at=sampled)
    assert "Endotoxin takes 1 h from sampling" in _refused(
        lot, users, "endotoxin", 0.1, sampled_at=sampled)
    assert _record(lot, users, "viability", 91, sampled_at=sampled).passed  # no duration


def test_a_tests_duration_is_a_protocol_setting(db, users):
    lot = make_bank(users, state="qc_pending")
    protocol.change_setting("min_hours_endotoxin", "48", effective_from=site_today(),
                            reason="gel-clot method", by=users["admin"])
    sampled = utcnow() - timedelta(hours=24)

    message = _refused(lot, users, "endotoxin", 0.1, sampled_at=sampled)

    assert message.startswith("Endotoxin takes 48 h from sampling")
    assert format_local(sampled + timedelta(hours=48)) in message


def test_a_sample_taken_after_its_result_is_refused(db, users):
    lot = make_bank(users, state="qc_pending")
    performed = utcnow() - timedelta(hours=3)
    sampled = utcnow() - timedelta(hours=1)

    assert _refused(lot, users, "viability", 91, sampled_at=sampled,
                    performed_at=performed) == (
        f"A sample is taken before its result: sampled {format_local(sampled)}, result "
        f"{format_local(performed)}.")


def test_the_lot_page_refuses_an_early_sterility_result_in_plain_words(db, users, login_as):
    lot = make_bank(users, state="qc_pending")
    sampled = utcnow().astimezone(site_zone()).replace(second=0, microsecond=0) \
        - timedelta(days=3)

    response = login_as("technician").post(f"/qc/lots/{lot.lot_id}/results", data={
        "qc-test": "sterility", "qc-value": "no growth", "qc-sample_id": "S-ST-1",
        "qc-sampled_at": sampled.strftime("%Y-%m-%dT%H:%M")})

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert (f"can have a passing result from {format_local(sampled + timedelta(days=14))}, "
            "not before.") in page
    assert qc.results_of(lot) == []


def test_the_api_takes_the_sample_time_and_refuses_too_early_a_pass(db, users, api_client):
    lot = make_bank(users, state="qc_pending")
    api = api_client("technician")
    sampled = utcnow() - timedelta(days=15)

    accepted = api.post(f"/api/v1/lots/{lot.lot_id}/qc-results", json={
        "test": "sterility", "value": "no growth", "sample_id": "S-ST-1",
        "sampled_at": sampled.isoformat()}, headers={"Idempotency-Key": "st-1"})
    refused = api.post(f"/api/v1/lots/{lot.lot_id}/qc-results", json={
        "test": "mycoplasma", "value": "not detected", "sample_id": "S-MY-1",
        "sampled_at": utcnow().isoformat()}, headers={"Idempotency-Key": "my-1"})

    assert accepted.status_code == 201 and accepted.get_json()["passed"] is True
    assert refused.status_code == 422
    assert refused.get_json()["detail"].startswith("Mycoplasma takes 24 h from sampling")
