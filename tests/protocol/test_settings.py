"""Protocol settings (SPEC 1, 2): versioned data, changed only by the admin, always audited."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from ucmsc_lims.core.audit import AuditEntry
from ucmsc_lims.core.clock import site_today
from ucmsc_lims.core.errors import DomainError
from ucmsc_lims.protocol import service
from ucmsc_lims.protocol.models import ProtocolSettingVersion

AMENDMENT = date(2030, 1, 1)


def _change_form(key: str = "dose_count", value: str = "4", effective_from: date = AMENDMENT,
                 reason: str = "protocol amendment 2") -> dict:
    return {"key": key, "value": value, "effective_from": effective_from.isoformat(),
            "reason": reason}


def _versions(db, key: str) -> list[ProtocolSettingVersion]:
    return list(db.session.scalars(sa.select(ProtocolSettingVersion).where(
        ProtocolSettingVersion.key == key).order_by(ProtocolSettingVersion.effective_from)))


def test_settings_start_at_the_protocol_defaults(db):
    assert service.value("dose_count") == 3
    assert service.value("shelf_life_hours") == 6
    assert service.value("followup_weeks") == [12, 24, 48]


def test_a_change_is_a_new_version_from_its_effective_date(db, users):
    service.change_setting("dose_count", "4", effective_from=AMENDMENT,
                           reason="protocol amendment 2", by=users["admin"])

    assert service.value("dose_count", on=AMENDMENT - timedelta(days=1)) == 3
    assert service.value("dose_count", on=AMENDMENT) == 4


def test_earlier_versions_are_kept(db, users):
    service.change_setting("dose_count", "4", effective_from=AMENDMENT, reason="amendment 2",
                           by=users["admin"])
    service.change_setting("dose_count", "5", effective_from=AMENDMENT + timedelta(days=30),
                           reason="amendment 3", by=users["admin"])

    assert [(v.value, v.reason) for v in _versions(db, "dose_count")] == [
        ("4", "amendment 2"), ("5", "amendment 3")]


def test_a_change_is_audited_with_old_and_new_values_and_the_reason(db, users):
    service.change_setting("shelf_life_hours", "8", effective_from=AMENDMENT,
                           reason="stability study", by=users["admin"])

    entry = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "protocol.setting_changed")).one()
    assert entry.username == "admin"
    assert entry.reason == "stability study"
    assert '"value":6' in entry.old
    assert '"value":8.0' in entry.new


@pytest.mark.parametrize(("key", "text", "message"), [
    ("dose_count", "three", "Number of doses: expected a whole number."),
    ("dose_count", "0", "Number of doses must be at least 1."),
    ("anticoagulant", "citrate", "Anticoagulant: expected one of heparin, ACD-A."),
    ("followup_weeks", ",", "Follow-up visit weeks: expected whole numbers separated by commas."),
    ("investigator_may_unblind", "maybe", "Investigator may confirm an emergency unblinding: "
                                          "expected yes or no."),
])
def test_a_value_of_the_wrong_kind_is_refused_in_plain_words(db, users, key, text, message):
    with pytest.raises(DomainError) as refusal:
        service.change_setting(key, text, effective_from=AMENDMENT, reason="typo",
                               by=users["admin"])

    assert refusal.value.message == message
    assert _versions(db, key) == []


def test_a_change_needs_a_reason(db, users):
    with pytest.raises(DomainError) as refusal:
        service.change_setting("dose_count", "4", effective_from=AMENDMENT, reason="  ",
                               by=users["admin"])

    assert refusal.value.message == "A reason is required to change a protocol setting."


def test_two_versions_cannot_share_an_effective_date(db, users):
    service.change_setting("dose_count", "4", effective_from=AMENDMENT, reason="a",
                           by=users["admin"])

    with pytest.raises(DomainError) as refusal:
        service.change_setting("dose_count", "5", effective_from=AMENDMENT, reason="b",
                               by=users["admin"])

    assert "already has a version effective from 2030-01-01" in refusal.value.message


def test_the_admin_changes_a_setting_on_the_page(client, login_as):
    login_as("admin")

    response = client.post("/protocol/", data=_change_form(effective_from=site_today()))

    assert response.status_code == 302
    page = client.get("/protocol/").get_data(as_text=True)
    assert "New version saved." in page
    assert "protocol amendment 2" in page
    assert service.value("dose_count") == 4


def test_a_wrong_value_on_the_page_is_refused_with_its_reason(client, login_as, db):
    login_as("admin")

    response = client.post("/protocol/", data=_change_form(value="lots"))

    assert response.status_code == 422
    assert "Number of doses: expected a whole number." in response.get_data(as_text=True)
    assert _versions(db, "dose_count") == []


@pytest.mark.parametrize("username", ["technician", "qa", "pharmacist", "nurse",
                                      "investigator", "inspector"])
def test_only_the_admin_may_change_a_setting(client, login_as, db, username):
    login_as(username)

    response = client.post("/protocol/", data=_change_form())

    assert response.status_code == 403
    assert "Your role does not allow this." in response.get_data(as_text=True)
    assert _versions(db, "dose_count") == []


def test_everyone_reads_the_settings_but_only_the_admin_sees_the_change_form(client,
                                                                            login_as):
    login_as("nurse")

    page = client.get("/protocol/").get_data(as_text=True)

    assert "Number of doses" in page
    assert "Change a setting" not in page
