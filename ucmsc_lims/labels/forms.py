"""The print form of the lot, vial, material and location labels on their pages (SPEC 4.6)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField
from wtforms.fields.choices import SelectChoice

from .render import FORMATS


class LabelPrintForm(FlaskForm):
    """One format per print; these labels carry no issue number, so a print needs no reason."""

    format = SelectField(_l("Format"), choices=[SelectChoice(f, f.upper()) for f in FORMATS],
                         default="pdf")
    submit = SubmitField(_l("Print"))
