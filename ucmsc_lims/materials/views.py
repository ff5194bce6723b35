"""Material lots: the receipt form, QA's release or rejection, and the receipt labels."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ..core.errors import DomainError
from ..core.permissions import requires
from ..extensions import db
from ..labels.download import label_response
from ..labels.forms import LabelPrintForm
from ..labels.render import FORMATS, render
from ..navigation import NavEntry
from . import service
from .labels import material_label, print_material_label
from .models import KINDS

bp = Blueprint("materials", __name__, url_prefix="/materials")
NAV_ENTRIES = [NavEntry(_l("Materials"), "materials.materials", "lot.read")]


class ReceiveForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=[(k, k) for k in KINDS])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    supplier = StringField(_l("Supplier"), validators=[DataRequired(), Length(max=200)])
    supplier_lot = StringField(_l("Supplier lot"), validators=[DataRequired(), Length(max=80)])
    expires_on = DateField(_l("Expires on"), validators=[DataRequired()])
    quantity = StringField(_l("Quantity"), validators=[Optional(), Length(max=80)])


class StatusForm(FlaskForm):
    reason = StringField(_l("Reason (required to reject)"), validators=[Optional()])


def _label_form(code: str) -> LabelPrintForm:
    return LabelPrintForm(prefix=f"label-{code}")


def _list(form, status=200):
    materials = service.list_materials()
    return render_template("materials/materials.html", materials=materials,
                           form=form, status_form=StatusForm(), label_formats=list(FORMATS),
                           label_forms={m.code: _label_form(m.code) for m in materials}), status


@bp.route("/")
@requires("lot.read")
def materials():
    return _list(ReceiveForm())


@bp.route("/", methods=["POST"])
@requires("material.record")
def receive():
    form = ReceiveForm()
    if not form.validate():
        flash(_("Fill in every field of the receipt."), "error")
        return _list(form, 400)
    try:
        material = service.receive(kind=form.kind.data, name=form.name.data,
                                   supplier=form.supplier.data,
                                   supplier_lot=form.supplier_lot.data,
                                   expires_on=form.expires_on.data, quantity=form.quantity.data,
                                   by=current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _list(form, error.status)
    flash(_("Material lot %(code)s received into quarantine.", code=material.code), "success")
    return redirect(url_for(".materials"))


@bp.route("/<code>/<status>", methods=["POST"])
@requires("material.release")
def set_status(code: str, status: str):
    form = StatusForm()
    try:
        service.set_status(service.get_by_code(code), status, by=current_user,
                           reason=form.reason.data or None)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _list(ReceiveForm(), error.status)
    return redirect(url_for(".materials"))


@bp.route("/<code>/label.<any(svg, png, pdf, zpl):fmt>")
@requires("lot_label.read")
def label(code: str, fmt: str):
    """The receipt label, opened from the materials page: a preview, nothing recorded."""
    return label_response(*render(material_label(service.get_by_code(code)), fmt))


@bp.route("/<code>/label/prints", methods=["POST"])
@requires("label.print")
def print_label(code: str):
    form = _label_form(code)
    try:
        if not form.validate_on_submit():
            raise DomainError(_("Choose the label format."))
        material = service.get_by_code(code)
        body, mimetype = print_material_label(material, fmt=form.format.data, by=current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _list(ReceiveForm(), error.status)
    return label_response(body, mimetype,
                          filename=f"{material.code}-label.{form.format.data}")
