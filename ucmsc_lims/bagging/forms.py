"""Fill session, verification, release, label print and hold disposition forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, RadioField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from .printing import FORMATS


class StartSessionForm(FlaskForm):
    room = StringField(_l("Fill room"), validators=[DataRequired(), Length(max=40)],
                       default="GMP-FILL-1")
    submit = SubmitField(_l("Start today's fill session"))


class PrintSheetForm(FlaskForm):
    submit = SubmitField(_l("Print labels"))


class FillForm(FlaskForm):
    """The scans, carried from step to step; submitted once all five are in."""

    label = HiddenField(validators=[DataRequired()])
    source = HiddenField(validators=[DataRequired()])
    anticoagulant = HiddenField(validators=[DataRequired()])
    saline = HiddenField(validators=[DataRequired()])
    container = HiddenField(validators=[DataRequired()])
    submit = SubmitField(_l("Fill bag"))


class SignForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})


class VerifyFillForm(SignForm):
    submit = SubmitField(_l("Sign: fill verified"))


class ReleaseForm(SignForm):
    submit = SubmitField(_l("Sign: release for issue"))


class PrintForm(FlaskForm):
    format = SelectField(_l("Format"), choices=[(f, f.upper()) for f in FORMATS],
                         default="pdf")
    reason = StringField(_l("Reason (required for a reprint)"),
                         validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Print"))


class HoldDispositionForm(SignForm):
    """The pharmacist's signed disposition of a bag a product hold holds."""

    decision = RadioField(_l("Disposition"), choices=[
        SelectChoice("destroy", _l("Destroy")),
        SelectChoice("release", _l("Release: back to the state it left (parity bags only)")),
    ], validators=[DataRequired()])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Sign: bag hold disposition"))
