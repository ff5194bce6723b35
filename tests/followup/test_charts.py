"""Trend charts on the patient's page and the overall survival curve (SPEC 4.10)."""

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

from tests.factories.followup import past_patient, record_visit
from ucmsc_lims.core.clock import site_today
from ucmsc_lims.followup import charts, service

SVG = "{http://www.w3.org/2000/svg}"


def test_each_lab_and_score_has_a_trend_chart_that_parses_as_svg(db, users):
    patient = past_patient(users, days_ago=200)
    record_visit(users, patient, week=12)
    record_visit(users, patient, week=24, labs=[("BILI", "2.5", "mg/dL"), ("INR", "1.6", ""),
                                                ("CREAT", "1.2", "mg/dL")])
    drawn = {chart.key: ET.fromstring(chart.svg) for chart in charts.patient_trends(patient)}
    assert set(drawn) >= {"ALT", "BILI", "PT", "INR", "ALB", "PLAT", "MELD", "MELDNA",
                          "CPSCORE"}
    bili = drawn["BILI"]
    assert bili.find(f"{SVG}title").text == "Total bilirubin"
    assert len(bili.findall(f"{SVG}circle")) == 2
    assert len(drawn["MELD"].findall(f"{SVG}circle")) == 2


def test_the_patient_page_carries_the_charts_and_no_arm(db, users, login_as):
    patient = past_patient(users)
    record_visit(users, patient)
    page = login_as("investigator").get(f"/followup/patients/{patient.subject_id}").get_data(
        as_text=True)
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(svgs) == 14
    for svg in svgs:
        ET.fromstring(svg)
    assert "BLINDED" in page
    for arm_word in ("Arm A", "Arm B", "ARMCD", "UC-MSC", "saline", "Saline", "placebo"):
        assert arm_word not in page


def test_the_study_page_draws_the_overall_kaplan_meier_curve(db, users, login_as):
    dead = past_patient(users, days_ago=100, subject_id="01-201")
    alive = past_patient(users, days_ago=150, subject_id="01-202", with_list=False)
    record_visit(users, alive, week=12)
    service.record_death(dead, died_on=site_today() - timedelta(days=40), cause="Sepsis",
                         by=users["investigator"])
    summary = charts.study_survival()
    assert (summary.patients, summary.deaths) == (2, 1)
    svg = ET.fromstring(summary.svg)
    assert svg.find(f"{SVG}path") is not None
    page = login_as("inspector").get("/followup/study").get_data(as_text=True)
    assert "Study follow-up: overall survival" in page and "50.0 %" in page
