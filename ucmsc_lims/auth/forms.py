"""Sign-in and account administration forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..core.freetext import LabelText
from ..core.permissions import ROLE_LABELS, ROLES


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)],
                           render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    ward = StringField(_l("Ward (scan its location label)"), validators=[Optional(),
                       Length(max=40)])
    submit = SubmitField(_l("Sign in"))


class RoleCheckboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _role_choices():
    return [(role, f"{ROLE_LABELS[role]} ({role})") for role in ROLES]


class CreateUserForm(FlaskForm):
    # The printed name on signatures, PDFs and labels (core.freetext).
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80),
                                                       LabelText()])
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200),
                                                         LabelText()])
    password = PasswordField(_l("Initial password"), validators=[DataRequired(),
                             Length(max=1024)])
    roles = RoleCheckboxes(_l("Roles"), choices=_role_choices(), validators=[DataRequired()])
    home_ward = StringField(_l("Home ward (nurses)"), validators=[Optional(), Length(max=40)])
    submit = SubmitField(_l("Create user"))


class RolesForm(FlaskForm):
    roles = RoleCheckboxes(_l("Roles"), choices=_role_choices())
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Save roles"))


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField(_l("Reset password"))


class LanguageForm(FlaskForm):
    language = SelectField(_l("Language"), choices=[("en", "English"), ("zh_Hans", "简体中文")])
    submit = SubmitField(_l("Save"))


class ActiveForm(FlaskForm):
    active = BooleanField(_l("Active"))
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Save"))
