"""The protocol settings page: everyone reads, the admin changes (as a new version)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from ..core.clock import site_today
from ..core.errors import DomainError
from ..core.permissions import requires
from . import service
from .settings import DEFINITIONS

bp = Blueprint("protocol", __name__, url_prefix="/protocol")


class ChangeSettingForm(FlaskForm):
    key = SelectField("Setting", choices=[(d.key, d.label) for d in DEFINITIONS])
    value = StringField("New value", validators=[DataRequired(), Length(max=500)])
    effective_from = DateField("Effective from", validators=[DataRequired()])
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])
    submit = SubmitField("Save new version")


@bp.route("/")
@requires("protocol.read")
def settings():
    form = ChangeSettingForm(data={"effective_from": site_today()})
    return render_template("protocol/settings.html", settings=service.overview(), form=form,
                           can_change=current_user.can("protocol.manage"))


@bp.route("/", methods=["POST"])
@requires("protocol.manage")
def change():
    form = ChangeSettingForm()
    if form.validate_on_submit():
        try:
            service.change_setting(form.key.data, form.value.data,
                                   effective_from=form.effective_from.data,
                                   reason=form.reason.data, by=current_user)
        except DomainError as refused:
            flash(refused.message, "error")
            return render_template("protocol/settings.html", settings=service.overview(),
                                   form=form, can_change=True), refused.status
        flash(_("New version saved."), "success")
        return redirect(url_for("protocol.settings"))
    return render_template("protocol/settings.html", settings=service.overview(), form=form,
                           can_change=True), 400
