"""SPEC 4.8, 4.10: an adverse event the nurse records at the infusion is the patient's adverse
event: one record that follow-up, its API, the export and the trace read."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from tests.factories import make_demo_users
from tests.factories.custody import bag_on_ward
from tests.factories.trace import infuse
from ucmsc_lims import PROJECT_ROOT
from ucmsc_lims.bedside import infusions
from ucmsc_lims.bedside.infusions import AdverseEventEntry
from ucmsc_lims.core.clock import local
from ucmsc_lims.core.db import utcnow
from ucmsc_lims.core.errors import DomainError
from ucmsc_lims.extensions import db
from ucmsc_lims.followup import export
from ucmsc_lims.followup import service as followup
from ucmsc_lims.followup.models import ClinicalEvent

FEVER = AdverseEventEntry("Fever", 1)
CHILLS = AdverseEventEntry("Chills", 2, description="Shivering 20 min in; slowed the rate")


@pytest.fixture
def running(db, users):
    """A patient of arm A whose dose 1 infusion has started, committed like each bedside step."""
    patient, bag = bag_on_ward(users, "A")
    infusion = infuse(users, patient, bag)
    db.session.commit()
    return patient, infusion


def _end(users, infusion, events=()):
    infusions.end_infusion(
        infusion, by=users["nurse"], outcome="completed", volume_infused_ml=98,
        vitals_before={"temperature_c": 36.8, "heart_rate_bpm": 72},
        vitals_after={"temperature_c": 38.4, "heart_rate_bpm": 96},
        adverse_events=list(events))
    db.session.flush()


def test_two_adverse_events_at_the_infusion_are_the_patients_adverse_events(running, users):
    patient, infusion = running
    _end(users, infusion, [FEVER, CHILLS])

    events = followup.events_of(patient)
    assert [(e.kind, e.term, e.grade, e.infusion_id) for e in events] == [
        ("adverse_event", "Fever", 1, infusion.id), ("adverse_event", "Chills", 2, infusion.id)]
    # One record, not a copy: the infusion reads the very same rows.
    assert [e.id for e in infusion.adverse_events] == [e.id for e in events]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ClinicalEvent)) == 2
    assert events[0].onset_date == local(infusion.started_at).date()


def test_the_followup_page_shows_the_adverse_event_recorded_at_the_infusion(
        running, users, login_as):
    patient, infusion = running
    _end(users, infusion, [FEVER])
    db.session.commit()

    page = login_as("investigator").get(f"/followup/patients/{patient.subject_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Fever" in text
    assert f"#{infusion.id}, dose 1" in text


def test_the_events_api_returns_the_adverse_event_with_its_infusion_and_dose(
        running, users, api_client):
    patient, infusion = running
    _end(users, infusion, [AdverseEventEntry("Infusion related reaction", 3, serious=True)])
    db.session.commit()

    reply = api_client("investigator").get(f"/api/v1/patients/{patient.subject_id}/events")
    assert reply.status_code == 200
    (item,) = reply.get_json()["items"]
    assert (item["kind"], item["term"], item["grade"], item["serious"]) == (
        "adverse_event", "Infusion related reaction", 3, True)
    assert (item["infusion_id"], item["dose_number"]) == (infusion.id, 1)
    assert item["awaits_assessment"] is True and item["assessment"] is None
    assert item["recorded_by"] == "nurse"


def test_the_infusion_page_records_several_adverse_events_and_each_vital_with_its_unit(
        running, users, login_as):
    patient, infusion = running
    reply = login_as("nurse").post(f"/bedside/infusions/{infusion.id}", data={
        "volume_infused_ml": "98", "outcome": "completed",
        "before_temperature_c": "36.8", "before_heart_rate_bpm": "72",
        "after_temperature_c": "38.4", "after_heart_rate_bpm": "96",
        "adverse_events-0-term": "Fever", "adverse_events-0-grade": "1",
        "adverse_events-1-term": "Chills", "adverse_events-1-grade": "2",
        "adverse_events-1-serious": "y",
        "adverse_events-2-term": "", "adverse_events-2-grade": "",
    }, follow_redirects=True)
    text = reply.get_data(as_text=True)
    assert "Infusion recorded." in text
    assert [(e.term, e.grade, e.serious) for e in followup.events_of(patient)] == [
        ("Fever", 1, False), ("Chills", 2, True)]
    for shown in ("Temperature", "36.8 °C", "38.4 °C", "Heart rate", "72 /min", "96 /min"):
        assert shown in text, shown


def test_a_row_with_a_grade_but_no_term_is_refused_in_plain_words(running, users, login_as):
    patient, infusion = running
    reply = login_as("nurse").post(f"/bedside/infusions/{infusion.id}", data={
        "volume_infused_ml": "98", "outcome": "completed", "adverse_events-0-grade": "2"})
    assert reply.status_code == 422
    assert "Name the adverse event by its CTCAE term." in reply.get_data(as_text=True)
    assert followup.events_of(patient) == []


def test_an_adverse_event_seen_after_the_end_is_recorded_from_the_infusion_page(
        running, users, login_as):
    patient, infusion = running
    _end(users, infusion)
    db.session.commit()

    reply = login_as("nurse").post(f"/bedside/infusions/{infusion.id}/adverse-events", data={
        "event-term": "Headache", "event-grade": "1",
        "event-description": "Two hours after the end"}, follow_redirects=True)
    text = reply.get_data(as_text=True)
    assert "Adverse event recorded." in text and "Headache" in text
    (event,) = followup.events_of(patient)
    assert (event.term, event.infusion_id, event.description) == (
        "Headache", infusion.id, "Two hours after the end")


def test_an_onset_before_the_infusion_started_is_refused(running, users):
    patient, infusion = running
    with pytest.raises(DomainError, match="cannot start before the infusion started"):
        infusions.add_adverse_event(
            infusion, AdverseEventEntry("Fever", 1, onset_at=infusion.started_at
                                        - timedelta(hours=1)), by=users["nurse"])
    assert followup.events_of(patient) == []


def test_a_voided_adverse_event_leaves_the_infusion_record(running, users):
    patient, infusion = running
    _end(users, infusion, [FEVER, CHILLS])
    followup.void_event(followup.events_of(patient)[0], reason="Wrong patient",
                        by=users["investigator"])
    db.session.flush()
    db.session.expire(infusion, ["adverse_events"])
    assert [e.term for e in infusion.adverse_events] == ["Chills"]


def test_the_export_links_the_adverse_event_to_its_infusion(running, users):
    patient, infusion = running
    _end(users, infusion, [FEVER])
    followup.assess_adverse_event(followup.events_of(patient)[0], causality="possible",
                                  reason="Within hours of the infusion", by=users["investigator"])
    result = export.export_study(by=users["investigator"])
    with zipfile.ZipFile(io.BytesIO(result.content)) as archive:
        name = next(n for n in archive.namelist() if n.endswith("AE.csv"))
        rows = list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))
    assert [(r["AETERM"], r["AETOXGR"], r["AELNKID"], r["AEREL"]) for r in rows] == [
        ("Fever", "1", f"INF-{infusion.id}", "POSSIBLE")]


def _alembic() -> Config:
    cfg = Config(str(PROJECT_ROOT / "migrations" / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return cfg


def test_migration_0016_moves_bedside_adverse_events_into_the_patients_events(committed_app):
    """Rows of the former `adverse_event` table become the patient's adverse events with their
    infusion; an infusion id that names no infusion of the patient is kept as text."""
    with committed_app.app_context():
        users = make_demo_users()
        patient, bag = bag_on_ward(users, "A")
        infusion = infuse(users, patient, bag)
        onset = utcnow()
        infusions.add_adverse_event(infusion, AdverseEventEntry(
            "Fever", 2, serious=True, onset_at=onset, description="38.6 °C"),
            by=users["nurse"])
        db.session.commit()
        ids = {"patient": patient.id, "infusion": infusion.id, "nurse": users["nurse"].id,
               "started_day": local(infusion.started_at).date()}
        db.session.close()
        db.engine.dispose()

        command.downgrade(_alembic(), "0016-1")
        # Raw SQL binds: SQLite keeps UTC without its zone, PostgreSQL with it.
        at = onset.replace(tzinfo=None) if db.engine.dialect.name == "sqlite" else onset
        with db.engine.begin() as connection:
            moved_back = connection.execute(sa.text(
                "SELECT infusion_id, term, grade, serious FROM adverse_event")).all()
            assert [tuple(r) for r in moved_back] == [(ids["infusion"], "Fever", 2, True)]
            # A legacy row without an onset time, and an event naming an unknown infusion.
            connection.execute(sa.text(
                "INSERT INTO adverse_event (infusion_id, term, grade, serious, recorded_at, "
                "recorded_by_id) VALUES (:i, 'Chills', 1, :f, :at, :by)"),
                {"i": ids["infusion"], "f": False, "at": at, "by": ids["nurse"]})
            connection.execute(sa.text(
                "INSERT INTO clinical_event (patient_id, kind, onset_date, term, grade, "
                "serious, infusion_id, description, recorded_by_id, recorded_at) VALUES "
                "(:p, 'adverse_event', :d, 'Nausea', 1, :f, 999, 'Typed by hand', :by, :at)"),
                {"p": ids["patient"], "d": ids["started_day"], "f": False, "by": ids["nurse"],
                 "at": at})
        db.engine.dispose()

        command.upgrade(_alembic(), "heads")
        events = {e.term: e for e in db.session.scalars(sa.select(ClinicalEvent))}
        assert set(events) == {"Fever", "Chills", "Nausea"}
        fever, chills, nausea = events["Fever"], events["Chills"], events["Nausea"]
        assert (fever.patient_id, fever.infusion_id, fever.grade, fever.serious) == (
            ids["patient"], ids["infusion"], 2, True)
        assert fever.onset_at.replace(microsecond=0) == onset.replace(microsecond=0)
        assert fever.description == "38.6 °C"
        assert (chills.infusion_id, chills.onset_at, chills.onset_date) == (
            ids["infusion"], None, ids["started_day"])
        assert nausea.infusion_id is None
        assert nausea.description == (
            "Typed by hand (infusion id 999 as typed: no such infusion of this patient)")
        assert not sa.inspect(db.session.connection()).has_table("adverse_event")
        db.session.rollback()
