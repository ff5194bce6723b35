"""Forms of the inspector grant pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, PasswordField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length


class GrantForm(FlaskForm):
    inspector = SelectField(_l("Inspector"), validators=[DataRequired()])
    starts_at = DateTimeLocalField(_l("Starts (site time)"), format="%Y-%m-%dT%H:%M",
                                   validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Ends (site time)"), format="%Y-%m-%dT%H:%M",
                                 validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(min=5, max=2000)])


class CosignForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})


class RevokeForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])
