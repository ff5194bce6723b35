"""Look-back forms: the QA-signed hold and the pharmacist's per-patient decision."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length


class HoldForm(FlaskForm):
    q = HiddenField(validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(min=5, max=2000)])
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)],
                           render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})


class DecisionForm(FlaskForm):
    tell = RadioField(_l("Must the investigator be told?"), choices=[
        SelectChoice("yes", _l("Yes: tell the investigator (emergency unblinding of this "
                               "patient)")),
        SelectChoice("no", _l("No: the investigator need not be told")),
    ], validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(min=5, max=2000)])
