"""Custody forms: scan a place, scan bags; shipments, logger files, excursion dispositions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DecimalField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..core.freetext import LabelText
from .models import CONDITIONS, DISPOSITIONS, LOCATION_KINDS

_SCAN = {"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false",
         "enterkeyhint": "go"}


def _condition_choices():
    return [(c, c.replace("_", " ")) for c in CONDITIONS]


class LocationForm(FlaskForm):
    # SPEC 3: code and name print on the location's label.
    code = StringField(_l("Location code"),
                       validators=[DataRequired(), Length(max=40), LabelText()],
                       render_kw={"placeholder": "L-WARD-5A"})
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200), LabelText()])
    kind = SelectField(_l("Kind"), choices=[(k, k.replace("_", " ")) for k in LOCATION_KINDS])
    submit = SubmitField(_l("Add location"))


class HandoffForm(FlaskForm):
    to_location = StringField(_l("To location"), validators=[DataRequired(), Length(max=40)],
                              render_kw=_SCAN)
    from_location = StringField(_l("From location"), validators=[Optional(), Length(max=40)],
                                render_kw=_SCAN)
    destination = StringField(_l("Destination ward"), validators=[Optional(), Length(max=40)],
                              render_kw=_SCAN)
    temperature_c = DecimalField(_l("Temperature (°C)"),
                                 validators=[Optional(), NumberRange(min=-200, max=60)])
    condition = SelectField(_l("Condition"), choices=_condition_choices())
    bag = StringField(_l("Bag"), validators=[DataRequired(), Length(max=120)], render_kw=_SCAN)
    submit = SubmitField(_l("Record hand-off"))


class ReceiveForm(FlaskForm):
    temperature_c = DecimalField(_l("Temperature (°C)"),
                                 validators=[Optional(), NumberRange(min=-200, max=60)])
    condition = SelectField(_l("Condition"), choices=_condition_choices())
    bag = StringField(_l("Bag"), validators=[DataRequired(), Length(max=120)], render_kw=_SCAN)
    submit = SubmitField(_l("Receive on ward"))


class ShipmentForm(FlaskForm):
    from_location = StringField(_l("From location"), validators=[DataRequired(),
                                Length(max=40)], render_kw=_SCAN)
    to_location = StringField(_l("To location"), validators=[DataRequired(), Length(max=40)],
                              render_kw=_SCAN)
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Create shipment"))


class ShipmentBagForm(FlaskForm):
    bag = StringField(_l("Bag"), validators=[DataRequired(), Length(max=120)], render_kw=_SCAN)
    submit = SubmitField(_l("Add bag"))


class DispatchForm(FlaskForm):
    temperature_c = DecimalField(_l("Temperature (°C)"),
                                 validators=[Optional(), NumberRange(min=-200, max=60)])
    condition = SelectField(_l("Condition"), choices=_condition_choices())
    submit = SubmitField(_l("Dispatch"))


class LoggerForm(FlaskForm):
    file = FileField(_l("Logger file (CSV: timestamp,temperature_c)"),
                     validators=[FileRequired()])
    submit = SubmitField(_l("Attach logger file"))


class DispositionForm(FlaskForm):
    decision = SelectField(_l("Disposition"), choices=[(d, d) for d in DISPOSITIONS])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField(_l("Sign disposition"))
