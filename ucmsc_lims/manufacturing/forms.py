"""Forms of the manufacturing and release pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    FloatField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

DT = "%Y-%m-%dT%H:%M"


class StartBankForm(FlaskForm):
    din = StringField(_l("DIN of an accepted collection"), validators=[DataRequired()],
                      render_kw={"autofocus": True, "autocomplete": "off"})
    submit = SubmitField(_l("Start cell bank lot"))


class ProcessingForm(FlaskForm):
    method = SelectField(_l("Method"), choices=[("explant", _l("Explant")),
                                                ("enzymatic", _l("Enzymatic digestion"))])
    materials = StringField(_l("Material lots used (scan, separated by spaces)"),
                            validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Record processing"))


class PassageForm(FlaskForm):
    seeded_at = DateTimeLocalField(_l("Seeded at (site time)"), format=DT,
                                   validators=[DataRequired()])
    harvested_at = DateTimeLocalField(_l("Harvested at (site time)"), format=DT,
                                      validators=[DataRequired()])
    vessels = StringField(_l("Vessels"), validators=[DataRequired(), Length(max=120)])
    cells_seeded = FloatField(_l("Cells seeded"), validators=[DataRequired()])
    cells_harvested = FloatField(_l("Cells harvested"), validators=[DataRequired()])
    viability_pct = FloatField(_l("Viability (%)"), validators=[DataRequired()])
    confluence_pct = FloatField(_l("Confluence (%)"), validators=[DataRequired()])
    incubator = StringField(_l("Incubator (scan its location label)"),
                            validators=[DataRequired()])
    materials = StringField(_l("Material lots used (scan, separated by spaces)"),
                            validators=[Optional(), Length(max=500)])
    # SPEC 4.2: asked for when the doubling time is outside the protocol's plausible range.
    growth_reason = StringField(_l("Reason for an unusual doubling time"),
                                validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Record passage"))


class BankForm(FlaskForm):
    dewar = StringField(_l("Dewar or freezer (location code)"), validators=[DataRequired()])
    box = StringField(_l("Box"), validators=[DataRequired(), Length(max=10)])
    vials = IntegerField(_l("Number of vials"), validators=[DataRequired(),
                                                           NumberRange(min=1, max=500)])
    cells_per_vial = FloatField(_l("Cells per vial"), validators=[DataRequired()])
    materials = StringField(_l("Material lots used (scan, separated by spaces)"),
                            validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Cryopreserve"))


class StartBatchForm(FlaskForm):
    vials = StringField(_l("Vial numbers to thaw (e.g. 1 2)"), validators=[DataRequired()])
    submit = SubmitField(_l("Thaw vials and start batch"))


class HarvestForm(FlaskForm):
    cells_harvested = FloatField(_l("Cells harvested"), validators=[DataRequired()])
    viability_pct = FloatField(_l("Viability (%)"), validators=[DataRequired()])
    materials = StringField(_l("Material lots used (scan, separated by spaces)"),
                            validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Record harvest"))


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Save"))


class SignForm(FlaskForm):
    """An e-signature: the signer re-enters user name and password (SPEC 5)."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)],
                           render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])
    conditional_tests = StringField(_l("Tests pending (conditional release, e.g. sterility)"),
                                    validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Sign"))


class QcResultForm(FlaskForm):
    test = SelectField(_l("Test"), choices=[])
    value = StringField(_l("Value"), validators=[DataRequired(), Length(max=60)])
    sample_id = StringField(_l("Sample id"), validators=[DataRequired(), Length(max=60)])
    sampled_at = DateTimeLocalField(_l("Sampled at (site time; blank: now)"), format=DT,
                                    validators=[Optional()])
    instrument = StringField(_l("Instrument"), validators=[Optional(), Length(max=80)])
    method = StringField(_l("Method (blank: the specification's)"),
                         validators=[Optional(), Length(max=120)])
    submit = SubmitField(_l("Record result"))


class InvestigationForm(FlaskForm):
    investigation = TextAreaField(_l("Investigation"), validators=[DataRequired()])
    submit = SubmitField(_l("Save investigation"))
