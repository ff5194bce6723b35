"""Kaplan-Meier estimate and the server-side SVG charts (SPEC 1, 4.10)."""

import xml.etree.ElementTree as ET
from datetime import date

import pytest

from ucmsc_lims.followup.km import (
    SurvivalPoint,
    kaplan_meier,
    median_survival,
    survival_svg,
    trend_svg,
)

SVG = "{http://www.w3.org/2000/svg}"
# Six patients: deaths on days 1, 3, 3 and 5; censored on days 2 and 4.
SMALL = [(1, True), (2, False), (3, True), (3, True), (4, False), (5, True)]


def test_kaplan_meier_matches_the_hand_computed_product_limit():
    # S(1) = 5/6; S(3) = 5/6 x (1 - 2/4) = 5/12; S(5) = 5/12 x (1 - 1/1) = 0
    points = kaplan_meier(SMALL)
    assert [(p.time_days, p.at_risk, p.events, p.censored) for p in points] == [
        (1, 6, 1, 0),
        (2, 5, 0, 1),
        (3, 4, 2, 0),
        (4, 2, 0, 1),
        (5, 1, 1, 0),
    ]
    assert [p.survival for p in points] == pytest.approx([5 / 6, 5 / 6, 5 / 12, 5 / 12, 0.0])


def test_censored_at_the_time_of_a_death_still_count_as_at_risk():
    first = kaplan_meier([(2, True), (2, False), (4, True)])[0]
    assert (first.at_risk, first.survival) == (3, pytest.approx(2 / 3))


def test_median_survival_is_the_first_time_at_or_below_one_half():
    assert median_survival(kaplan_meier(SMALL)) == 3


def test_median_survival_is_none_while_more_than_half_survive():
    assert median_survival(kaplan_meier([(10, True), (20, False), (30, False)])) is None


def test_negative_times_are_refused():
    with pytest.raises(ValueError, match="cannot be negative"):
        kaplan_meier([(-1, True)])


def test_survival_chart_is_valid_svg_with_a_step_path_and_censor_ticks():
    root = ET.fromstring(survival_svg(kaplan_meier(SMALL), "Overall survival"))
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text == "Overall survival"
    path = root.find(f"{SVG}path").get("d")
    assert path.startswith("M") and path.count("V") == len(SMALL) - 1
    censor_ticks = [line for line in root.iter(f"{SVG}line") if line.get("stroke") == "#1f4e79"]
    assert len(censor_ticks) == 2


def test_survival_chart_of_no_patients_is_still_valid_svg():
    assert ET.fromstring(survival_svg([], "Overall survival")).tag == f"{SVG}svg"


def test_trend_chart_draws_one_dot_per_result_in_date_order():
    points = [(date(2025, 6, 30), 2.4), (date(2025, 3, 31), 3.1), (date(2025, 12, 29), 1.6)]
    root = ET.fromstring(trend_svg(points, "Total bilirubin", "mg/dL"))
    dots = [c.find(f"{SVG}title").text for c in root.iter(f"{SVG}circle")]
    assert dots == ["2025-03-31: 3.1 mg/dL", "2025-06-30: 2.4 mg/dL", "2025-12-29: 1.6 mg/dL"]


def test_trend_chart_line_falls_on_the_page_when_the_value_falls():
    points = [(date(2025, 3, 31), 3.1), (date(2025, 6, 30), 1.6)]
    root = ET.fromstring(trend_svg(points, "Total bilirubin", "mg/dL"))
    (first_y, second_y) = (
        float(pair.split(",")[1]) for pair in root.find(f"{SVG}polyline").get("points").split()
    )
    assert second_y > first_y  # SVG y grows downwards


def test_trend_chart_shades_the_reference_range():
    points = [(date(2025, 3, 31), 3.1)]
    root = ET.fromstring(trend_svg(points, "Albumin", "g/dL", reference=(3.4, 5.4)))
    assert root.find(f"{SVG}rect") is not None


def test_trend_chart_escapes_its_title_and_unit():
    root = ET.fromstring(trend_svg([(date(2025, 1, 1), 1.0)], "<ALT & AST>", "U/L"))
    assert root.find(f"{SVG}title").text == "<ALT & AST>"


def test_trend_chart_without_results_says_so():
    root = ET.fromstring(trend_svg([], "ALT", "U/L"))
    assert "No results yet" in [t.text for t in root.iter(f"{SVG}text")]


def test_charts_carry_no_script_and_no_style_attribute():
    svg = trend_svg([(date(2025, 1, 1), 1.0)], "ALT", "U/L") + survival_svg(
        [SurvivalPoint(1, 1, 1, 0, 0.0)], "Survival"
    )
    assert "<script" not in svg and "style=" not in svg


def test_trend_chart_keeps_every_dot_inside_the_plot_area():
    points = [(date(2025, 3, 31), 3.1), (date(2025, 6, 30), 2.4), (date(2025, 9, 29), 0.05)]
    root = ET.fromstring(trend_svg(points, "Total bilirubin", "mg/dL", reference=(0.1, 1.2)))
    axis = next(root.iter(f"{SVG}line"))  # the y axis, from the top to the bottom of the plot
    top, bottom = float(axis.get("y1")), float(axis.get("y2"))
    assert all(top <= float(c.get("cy")) <= bottom for c in root.iter(f"{SVG}circle"))
