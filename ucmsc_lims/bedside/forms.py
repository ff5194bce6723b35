"""Bedside forms. The labels are a contract with scanners and browser tests (SPEC 7)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

_SCAN = {"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false",
         "enterkeyhint": "go"}


class BedsideForm(FlaskForm):
    """Nurse 1: wristband, weight, the two confirmations, then the bag. Enter in any field
    submits; the page asks for what is still missing. The page always asks both questions:
    an unticked box is recorded as a no, and a no is a NO-GO (SPEC 4.8)."""

    wristband = StringField(_l("Wristband"), validators=[Optional(), Length(max=120)],
                            render_kw=_SCAN)
    weight_kg = DecimalField(_l("Weight (kg)"), places=1,
                             validators=[Optional(), NumberRange(min=0.5, max=500)],
                             render_kw={"inputmode": "decimal", "autocomplete": "off",
                                        "enterkeyhint": "next"})
    identity_confirmed = BooleanField(_l("Patient stated name and date of birth"))
    bag_intact = BooleanField(_l("Bag intact"))
    bag = StringField(_l("Bag"), validators=[Optional(), Length(max=120)], render_kw=_SCAN)
    submit = SubmitField(_l("Check"))


class WardForm(FlaskForm):
    ward = StringField(_l("Ward"), validators=[DataRequired(), Length(max=40)],
                       render_kw=_SCAN)
    submit = SubmitField(_l("Change ward"))


class ConfirmForm(FlaskForm):
    """Nurse 2: their own credentials and both scans again."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)],
                           render_kw={"autocomplete": "off", "autofocus": True})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "off"})
    wristband = StringField(_l("Wristband"), validators=[DataRequired(), Length(max=120)],
                            render_kw=_SCAN)
    bag = StringField(_l("Bag"), validators=[DataRequired(), Length(max=120)],
                      render_kw=_SCAN)
    submit = SubmitField(_l("Sign as second nurse"))


class StartForm(FlaskForm):
    submit = SubmitField(_l("Start infusion"))


class AdverseEventRow(Form):
    """One adverse event seen at the infusion (SPEC 4.8): CTCAE term and grade, serious or not,
    when it began if known. A row of the infusion record and of the form for a later one."""

    term = StringField(_l("Adverse event (CTCAE term)"), validators=[Optional(), Length(max=200)])
    grade = SelectField(_l("CTCAE grade"), choices=[("", "-")] + [
        (str(g), str(g)) for g in range(1, 6)], validators=[Optional()])
    serious = BooleanField(_l("Serious adverse event"))
    onset_at = DateTimeLocalField(_l("Onset (empty: not known)"), format="%Y-%m-%dT%H:%M",
                                  validators=[Optional()])
    description = StringField(_l("What was seen and done"),
                              validators=[Optional(), Length(max=1000)])


class AdverseEventForm(FlaskForm):
    """An adverse event recorded on its own, while the infusion runs or after it ended."""

    event = FormField(AdverseEventRow)
    submit = SubmitField(_l("Record adverse event"))


class InfusionRecordForm(FlaskForm):
    ended_at = DateTimeLocalField(_l("End of infusion"), format="%Y-%m-%dT%H:%M",
                                  validators=[Optional()])
    volume_infused_ml = DecimalField(_l("Volume infused (mL)"),
                                     validators=[InputRequired(), NumberRange(min=0, max=5000)])
    rate_ml_per_h = DecimalField(_l("Rate (mL/h)"),
                                 validators=[Optional(), NumberRange(min=0.1, max=2000)])
    before_temperature_c = DecimalField(_l("Temperature before (°C)"), validators=[Optional()])
    before_heart_rate_bpm = IntegerField(_l("Heart rate before (/min)"), validators=[Optional()])
    before_systolic_mmhg = IntegerField(_l("Systolic BP before (mmHg)"), validators=[Optional()])
    before_diastolic_mmhg = IntegerField(_l("Diastolic BP before (mmHg)"),
                                         validators=[Optional()])
    before_respiratory_rate_per_min = IntegerField(_l("Respiratory rate before (/min)"),
                                                   validators=[Optional()])
    before_spo2_pct = IntegerField(_l("SpO2 before (%)"), validators=[Optional()])
    after_temperature_c = DecimalField(_l("Temperature after (°C)"), validators=[Optional()])
    after_heart_rate_bpm = IntegerField(_l("Heart rate after (/min)"), validators=[Optional()])
    after_systolic_mmhg = IntegerField(_l("Systolic BP after (mmHg)"), validators=[Optional()])
    after_diastolic_mmhg = IntegerField(_l("Diastolic BP after (mmHg)"), validators=[Optional()])
    after_respiratory_rate_per_min = IntegerField(_l("Respiratory rate after (/min)"),
                                                  validators=[Optional()])
    after_spo2_pct = IntegerField(_l("SpO2 after (%)"), validators=[Optional()])
    premedication = StringField(_l("Premedication"), validators=[Optional(), Length(max=500)])
    # SPEC 4.8: any number of adverse events; blank rows are ignored.
    adverse_events = FieldList(FormField(AdverseEventRow), min_entries=3, max_entries=10)
    outcome = SelectField(_l("Outcome"), choices=[("completed", _l("Completed")),
                                                  ("stopped", _l("Stopped"))])
    stop_reason = StringField(_l("Reason stopped"), validators=[Optional(), Length(max=500)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])
    submit = SubmitField(_l("Record infusion"))

    def vitals(self, when: str) -> dict:
        from .infusions import VITALS

        values = {}
        for name in VITALS:
            value = getattr(self, f"{when}_{name}").data
            if value is not None:
                values[name] = float(value)
        return values
