"""The form of a new specification version: its tests as rows, then QA's e-signature."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FieldList,
    FloatField,
    Form,
    FormField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp

from .service import COMPARATORS

# Rows left empty below the current tests, for tests QA adds.
SPARE_ROWS = 3


class SpecItemForm(Form):
    test = StringField(_l("Test code"), validators=[
        Optional(), Length(max=40),
        Regexp(r"^[a-z0-9_]+$", message=_l("Lower-case letters, digits and _ only."))])
    label = StringField(_l("Test"), validators=[Optional(), Length(max=120)])
    method = StringField(_l("Method"), validators=[Optional(), Length(max=120)])
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=20)])
    comparator = SelectField(_l("Comparison"), choices=[(c, c) for c in COMPARATORS])
    limit = FloatField(_l("Limit"), validators=[Optional()])
    limit_setting = StringField(_l("Limit from protocol setting"),
                                validators=[Optional(), Length(max=40)])
    expected = StringField(_l("Expected word"), validators=[Optional(), Length(max=60)])
    may_be_pending = BooleanField(_l("May be pending at release"))


class SpecificationForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    effective_from = DateTimeLocalField(_l("In force from (site time)"), format="%Y-%m-%dT%H:%M",
                                        validators=[DataRequired()])
    items = FieldList(FormField(SpecItemForm), min_entries=0, max_entries=60)
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)],
                           render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField(_l("Sign: specification approved"))
