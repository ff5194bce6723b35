"""The statistician's SDTM-like export and the database lock (SPEC 4.10, 5)."""

import csv
import io
import zipfile
from datetime import timedelta

import pytest

from tests.factories.followup import lock, past_patient, record_visit
from tests.factories.trial import DEMO_PASSWORD
from ucmsc_lims.core.clock import as_of
from ucmsc_lims.core.errors import AuthenticationFailed, Conflict
from ucmsc_lims.followup import export, service
from ucmsc_lims.trial import service as trial

ARM = {"ARMCD", "ARM", "ACTARMCD", "ACTARM"}


def _infuse_dose_1(users, patient):
    dose = patient.doses[0]
    with as_of(patient.day0):
        trial.clear_dose(dose, by=users["investigator"], password=DEMO_PASSWORD,
                         no_reaction_confirmed=True)
    for state in ("bag_ready", "verified", "infused"):
        trial.transition_dose(dose, state, by=users["nurse"])


@pytest.fixture
def study(db, users):
    patient = past_patient(users, days_ago=200, subject_id="01-301")
    _infuse_dose_1(users, patient)
    record_visit(users, patient, week=12)
    service.record_event(patient, kind="adverse_event", term="Fever", grade=1,
                         onset_date=patient.day0 + timedelta(days=1),
                         by=users["investigator"])
    service.record_event(patient, kind="infection", onset_date=patient.day0 + timedelta(days=9),
                         description="Spontaneous bacterial peritonitis",
                         by=users["investigator"])
    other = past_patient(users, days_ago=100, subject_id="01-302", with_list=False)
    service.record_death(other, died_on=other.day0 + timedelta(days=60), cause="Variceal bleed",
                         by=users["investigator"])
    return patient, other


def _read(result) -> dict[str, list[dict]]:
    archive = zipfile.ZipFile(io.BytesIO(result.content))
    tables = {}
    for name in archive.namelist():
        if name.endswith(".csv"):
            text = archive.read(name).decode()
            tables[name[:-4]] = (list(csv.DictReader(io.StringIO(text))),
                                 text.splitlines()[0].split(","))
    tables["dictionary"] = archive.read("dictionary.md").decode()
    return tables


def test_each_domain_file_has_its_documented_columns(study, users):
    tables = _read(export.export_study(by=users["inspector"]))
    for domain in ("DM", "EX", "LB", "AE", "CE", "XS", "DS"):
        _, header = tables[domain]
        assert tuple(header) == export.COLUMNS[domain]
        for column in header:
            assert column in tables["dictionary"], column
    lb, _ = tables["LB"]
    bili = next(row for row in lb if row["LBTESTCD"] == "BILI")
    assert (bili["LBORRES"], bili["LBORRESU"], bili["LBSTRESN"], bili["LBSTRESU"]) == (
        "34.2", "umol/L", "2", "mg/dL")
    assert (bili["VISIT"], bili["LBNRIND"], bili["LBDY"]) == ("WEEK 12", "HIGH", "85")


def test_the_export_rows_carry_exposure_events_and_survival(study, users):
    tables = _read(export.export_study(by=users["investigator"]))
    (ex,) = tables["EX"][0]
    assert (ex["USUBJID"], ex["EXTRT"], ex["VISITNUM"]) == (
        "UCMSC-LC-01-301", "UC-MSC OR SALINE PLACEBO (BLINDED)", "1")
    (ae,) = tables["AE"][0]
    assert (ae["AEDECOD"], ae["AETOXGR"], ae["AESER"], ae["AELNKID"]) == (
        "FEVER", "1", "N", "")
    (ce,) = tables["CE"][0]
    assert ce["CEDECOD"] == "INFECTION"
    dm = {row["SUBJID"]: row for row in tables["DM"][0]}
    assert dm["01-302"]["DTHFL"] == "Y" and dm["01-301"]["DTHFL"] == ""
    ds = [(r["SUBJID"] if "SUBJID" in r else r["USUBJID"], r["DSDECOD"])
          for r in tables["DS"][0]]
    assert ("UCMSC-LC-01-302", "DEATH") in ds
    assert ("UCMSC-LC-01-301", "ALIVE AT LAST CONTACT") in ds
    xs = {r["XSTESTCD"]: r["XSORRES"] for r in tables["XS"][0]}
    assert (xs["MELD"], xs["CPCLASS"]) == ("12", "B")


@pytest.mark.parametrize("username", ["investigator", "inspector", "pharmacist"])
def test_an_export_before_the_lock_has_no_arm_columns(study, users, username):
    result = export.export_study(by=users[username])
    tables = _read(result)
    assert not result.with_arm
    for domain in ("DM", "EX", "LB", "AE", "CE", "XS", "DS"):
        assert not ARM & set(tables[domain][1])
    assert "UC-MSC OR SALINE PLACEBO (BLINDED)" in {r["EXTRT"] for r in tables["EX"][0]}
    assert "Blinded export: no arm columns." in tables["dictionary"]


def test_after_the_signed_lock_a_blinded_export_still_has_no_arm(study, users):
    lock(users)
    tables = _read(export.export_study(by=users["inspector"]))
    assert not ARM & set(tables["DM"][1])


def test_after_the_signed_lock_the_pharmacist_export_carries_the_arm(study, users):
    patient, other = study
    lock(users)
    result = export.export_study(by=users["pharmacist"])
    tables = _read(result)
    assert result.with_arm and "unblinded" in result.filename
    dm = {row["SUBJID"]: row for row in tables["DM"][0]}
    assert dm["01-301"]["ARMCD"] == trial.arm_of(patient)
    assert dm["01-301"]["ACTARMCD"] == trial.arm_of(patient)
    assert dm["01-302"]["ARMCD"] == trial.arm_of(other)
    assert (dm["01-302"]["ACTARMCD"], dm["01-302"]["ACTARM"]) == ("NOTTRT", "Not Treated")
    (ex,) = tables["EX"][0]
    assert ex["EXTRT"] == export.ARM_NAMES[trial.arm_of(patient)]


def test_the_lock_needs_the_signer_password_and_then_refuses_changes(study, users):
    patient, _ = study
    with pytest.raises(AuthenticationFailed):
        lock(users, password="wrong-password-000")
    assert service.current_lock() is None
    locked = lock(users)
    assert service.lock_signature(locked).meaning == "database_lock"
    with pytest.raises(Conflict, match="locked"):
        record_visit(users, patient, week=24)
    with pytest.raises(Conflict, match="locked"):
        lock(users)


def test_the_export_page_downloads_a_zip_and_the_pharmacist_page_shows_the_arm_after_lock(
        study, users, login_as, client):
    lock(users)
    pharmacist = login_as("pharmacist")
    page = pharmacist.get("/followup/export").get_data(as_text=True)
    assert "This export carries the treatment arm" in page and "ARMCD" in page
    response = pharmacist.post("/followup/export")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "unblinded" in response.headers["Content-Disposition"]


def test_the_investigator_signs_the_lock_on_the_export_page(db, users, login_as):
    client = login_as("investigator")
    refused = client.post("/followup/lock", data={"reason": "Final", "password": "nope-nope-no"})
    assert refused.status_code == 401
    assert service.current_lock() is None
    done = client.post("/followup/lock", data={"reason": "Final", "password": DEMO_PASSWORD},
                       follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "The follow-up database is locked." in page and "Database lock" in page
    assert "Blinded export: no arm columns." in page


def test_the_module_docstring_documents_every_column():
    for domain, cols in export.COLUMNS.items():
        assert f"{domain}.csv" in export.__doc__
        for column in (*cols, *export.ARM_COLUMNS):
            assert column in export.__doc__, column
