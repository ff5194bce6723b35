"""Follow-up forms: a visit with its labs, a clinical event, a death, a correction, the lock."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from . import units
from .service import ASCITES_LABELS, EVENT_LABELS, RECORDABLE_EVENTS

ENCEPHALOPATHY_CHOICES = [
    ("", _l("not assessed")), ("0", _l("0 — none")), ("1", "1"), ("2", "2"), ("3", "3"),
    ("4", _l("4 — coma")),
]


def unit_choices(code: str) -> list[tuple[str, str]]:
    return [(u, u or _l("ratio")) for u in units.ANALYTES[code].units]


def _optional_int(value: object) -> int | None:
    return None if value in (None, "") else int(value)


class VisitForm(FlaskForm):
    """The visit's date, findings and one value-and-unit pair per analyte (SPEC 4.10)."""

    visit_week = SelectField(_l("Visit week"), coerce=int)
    visit_date = DateField(_l("Visit date"), validators=[DataRequired()],
                           render_kw={"autofocus": True})
    ascites = SelectField(_l("Ascites"), choices=[("", _l("not assessed"))] + [
        (key, label) for key, label in ASCITES_LABELS.items()])
    encephalopathy_grade = SelectField(_l("Hepatic encephalopathy grade (West Haven)"),
                                       choices=ENCEPHALOPATHY_CHOICES,
                                       coerce=_optional_int, validate_choice=False)
    dialysis = BooleanField(_l("Dialysis twice or more in the past week"))
    pt_control_s = StringField(_l("PT control (s)"), validators=[Optional(), Length(max=24)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Record visit"))

    def lab_fields(self) -> list[tuple[str, str, object, object]]:
        """(code, name, value field, unit field) in the order of the analyte table."""
        return [(code, units.ANALYTES[code].name, self[f"lab_{code}_value"],
                 self[f"lab_{code}_unit"]) for code in units.ANALYTES]

    def labs(self) -> list[tuple[str, str, str]]:
        """The labs filled in, as written: (analyte, value, unit)."""
        return [(code, value.data.strip(), unit.data)
                for code, _name, value, unit in self.lab_fields() if (value.data or "").strip()]


for _code, _analyte in units.ANALYTES.items():
    setattr(VisitForm, f"lab_{_code}_value",
            StringField(_analyte.name, validators=[Optional(), Length(max=24)],
                        render_kw={"inputmode": "decimal", "autocomplete": "off"}))
    setattr(VisitForm, f"lab_{_code}_unit",
            SelectField(_l("Unit of %(name)s", name=_analyte.name),
                        choices=unit_choices(_code)))


class MissedVisitForm(FlaskForm):
    visit_week = HiddenField()
    reason = StringField(_l("Why the visit did not take place"),
                         validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Record as missed"))


class EventForm(FlaskForm):
    kind = SelectField(_l("Event"), choices=[(k, EVENT_LABELS[k]) for k in RECORDABLE_EVENTS],
                       render_kw={"autofocus": True})
    onset_date = DateField(_l("Onset date"), validators=[DataRequired()])
    term = StringField(_l("CTCAE term (adverse events)"), validators=[Optional(), Length(max=200)])
    grade = SelectField(_l("CTCAE grade"), coerce=_optional_int, validate_choice=False,
                        choices=[("", "—"), ("1", "1"), ("2", "2"), ("3", "3"), ("4", "4"),
                                 ("5", "5")])
    serious = BooleanField(_l("Serious"))
    infusion_id = IntegerField(_l("Infusion id (if the event followed an infusion)"),
                               validators=[Optional(), NumberRange(min=1)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Record event"))


class DeathForm(FlaskForm):
    died_on = DateField(_l("Date of death"), validators=[DataRequired()])
    cause = StringField(_l("Cause of death"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Record death"))


class CorrectLabForm(FlaskForm):
    value = StringField(_l("Corrected value"), validators=[DataRequired(), Length(max=24)])
    unit = SelectField(_l("Unit"), validate_choice=False, choices=[])
    reason = StringField(_l("Reason for the correction"),
                         validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Correct"))


class VoidEventForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Void"))


class LockForm(FlaskForm):
    reason = StringField(_l("Reason for the lock"), validators=[DataRequired(), Length(max=500)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField(_l("Sign the database lock"))


class ExportForm(FlaskForm):
    submit = SubmitField(_l("Download the export (zip)"))
