"""The follow-up charts (SPEC 4.10): a patient's trends and the study's survival curve.

Drawn on the server as SVG by `km` and placed in the page as markup (no script, no style
attribute, so the CSP holds). No arm anywhere: the survival curve is the overall one.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import has_request_context
from flask_babel import gettext

from ..trial.models import Patient
from . import km, service, units


def _(text: str) -> str:
    """Translated in a request (the user's language); as written in a command or a test."""
    return gettext(text) if has_request_context() else text


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    svg: str


def patient_trends(patient: Patient) -> list[Chart]:
    """One chart per analyte (in its standard unit, reference range shaded) and per score."""
    visits = [v for v in service.completed_visits(patient) if v.visit_date is not None]
    series: dict[str, list] = {code: [] for code in units.ANALYTES}
    scores: dict[str, list] = {"MELD": [], "MELDNA": [], "CPSCORE": []}
    for visit in visits:
        for lab in visit.current_labs:
            series[lab.analyte].append((visit.visit_date, lab.standard_value))
        scored = service.scores_of(visit)
        for key, value in (("MELD", scored.meld), ("MELDNA", scored.meld_na),
                           ("CPSCORE", scored.child_pugh_score)):
            if value is not None:
                scores[key].append((visit.visit_date, float(value)))
    charts = []
    for code, points in series.items():
        found = units.ANALYTES[code]
        low, high = found.reference
        svg = km.trend_svg(points, found.name, found.standard_unit,
                           reference=(float(low), float(high)))
        charts.append(Chart(code, found.name, svg))
    titles = {"MELD": "MELD", "MELDNA": "MELD-Na", "CPSCORE": _("Child-Pugh score")}
    for key, points in scores.items():
        charts.append(Chart(key, titles[key], km.trend_svg(points, titles[key], "")))
    return charts


@dataclass(frozen=True)
class SurvivalSummary:
    patients: int
    deaths: int
    median_days: float | None
    points: list[km.SurvivalPoint]
    svg: str


def study_survival() -> SurvivalSummary:
    """The overall Kaplan-Meier estimate from day 0, in days."""
    observations = service.survival_times()
    points = km.kaplan_meier(observations)
    svg = km.survival_svg(points, _("Overall survival (days from day 0)"))
    return SurvivalSummary(
        patients=len(observations), deaths=sum(1 for _time, died in observations if died),
        median_days=km.median_survival(points), points=points, svg=svg,
    )
