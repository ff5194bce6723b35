"""Donor and collection pages: register, record tests, determine eligibility, receive cords."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, DateTimeLocalField, FloatField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ..core.clock import site_zone
from ..core.errors import DomainError
from ..core.permissions import requires
from ..extensions import db
from ..navigation import NavEntry
from ..web import id_arg
from . import service

bp = Blueprint("donors", __name__, url_prefix="/donors")
NAV_ENTRIES = [NavEntry(_l("Donors"), "donors.donors", "lot.read")]
DT = "%Y-%m-%dT%H:%M"


class DonorForm(FlaskForm):
    consent_date = DateField(_l("Consent date"), validators=[DataRequired()])
    consent_form_version = StringField(_l("Consent form version"), validators=[DataRequired()])
    consent_obtained_by = StringField(_l("Consent obtained by"), validators=[DataRequired()])


class TestForm(FlaskForm):
    test = SelectField(_l("Test"), choices=list(service.REQUIRED_TESTS.items()))
    result = SelectField(_l("Result"), choices=[(r, r) for r in service.RESULTS])
    tested_on = DateField(_l("Tested on"), validators=[DataRequired()])


class DeterminationForm(FlaskForm):
    eligibility = SelectField(_l("Determination"), choices=[("eligible", _l("Eligible")),
                                                          ("ineligible", _l("Ineligible"))])
    reason = StringField(_l("Reason (required if ineligible)"), validators=[Optional()])


class CollectionForm(FlaskForm):
    din = StringField(_l("DIN (scan)"), validators=[DataRequired()], render_kw={"autofocus": True})
    collected_at = DateTimeLocalField(_l("Collected at"), format=DT, validators=[DataRequired()])
    delivery = StringField(_l("Delivery details"), validators=[DataRequired(), Length(max=200)])
    site = StringField(_l("Collection site"), validators=[DataRequired(), Length(max=120)])
    transport_container = StringField(_l("Transport container"), validators=[DataRequired()])
    transport_temperature_c = FloatField(_l("Transport temperature (°C)"),
                                         validators=[DataRequired()])
    received_at = DateTimeLocalField(_l("Received at"), format=DT, validators=[DataRequired()])
    receipt_condition = StringField(_l("Condition on receipt"), validators=[DataRequired()])


class DecisionForm(FlaskForm):
    reason = StringField(_l("Reason (required to reject)"), validators=[Optional()])


def _page(donor, status=200):
    return render_template("donors/donor.html", donor=donor, gaps=service.eligibility_gaps(donor),
                           tests=service.current_tests(donor), test_form=TestForm(prefix="t"),
                           det_form=DeterminationForm(prefix="d"),
                           col_form=CollectionForm(prefix="c")), status


def _run(donor_code: str, action, done: str):
    try:
        action(service.get_donor(donor_code))
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _page(service.get_donor(donor_code), error.status)
    flash(done, "success")
    return redirect(url_for(".donor", code=donor_code))


@bp.route("/")
@requires("lot.read")
def donors():
    return _donors_page(DonorForm())


def _donors_page(form: DonorForm, status: int = 200):
    """Donors and collections, newest first, each paged by key (`donors_before`,
    `collections_before`)."""
    donors, more_donors = service.list_donors(before=request.args.get("donors_before"),
                                              limit=service.PAGE_SIZE)
    collections, more_collections = service.list_collections(
        before_id=id_arg("collections_before"), limit=service.PAGE_SIZE)
    return render_template("donors/donors.html", donors=donors, more_donors=more_donors,
                           collections=collections, more_collections=more_collections,
                           form=form), status


@bp.route("/", methods=["POST"])
@requires("donor.record")
def register():
    form = DonorForm()
    if not form.validate():
        flash(_("Fill in the consent date, form version and who obtained it."), "error")
        return _donors_page(form, 400)
    donor = service.register_donor(consent_date=form.consent_date.data,
                                   consent_form_version=form.consent_form_version.data,
                                   consent_obtained_by=form.consent_obtained_by.data,
                                   by=current_user)
    return redirect(url_for(".donor", code=donor.code))


@bp.route("/<code>")
@requires("lot.read")
def donor(code: str):
    return _page(service.get_donor(code))


@bp.route("/<code>/tests", methods=["POST"])
@requires("donor.record")
def record_test(code: str):
    form = TestForm(prefix="t")
    return _run(code, lambda d: service.record_test(
        d, test=form.test.data, result=form.result.data, tested_on=form.tested_on.data,
        by=current_user), _("Test recorded."))


@bp.route("/<code>/determination", methods=["POST"])
@requires("donor.determine")
def determine(code: str):
    form = DeterminationForm(prefix="d")
    return _run(code, lambda d: service.determine_eligibility(
        d, eligibility=form.eligibility.data, reason=form.reason.data or None, by=current_user),
        _("Eligibility determined."))


@bp.route("/<code>/collections", methods=["POST"])
@requires("donor.record")
def receive(code: str):
    form = CollectionForm(prefix="c")
    if not form.validate():
        flash(_("Fill in every collection field."), "error")
        return _page(service.get_donor(code), 400)
    zone = site_zone()
    return _run(code, lambda d: service.receive_collection(
        donor=d, din=form.din.data, collected_at=form.collected_at.data.replace(tzinfo=zone),
        delivery=form.delivery.data, site=form.site.data,
        transport_container=form.transport_container.data,
        transport_temperature_c=form.transport_temperature_c.data,
        received_at=form.received_at.data.replace(tzinfo=zone),
        receipt_condition=form.receipt_condition.data, by=current_user), _("Cord received."))


@bp.route("/collections/<din>")
@requires("lot.read")
def collection(din: str):
    from ..manufacturing.service import lots_for_din

    c = service.get_collection(din)
    return render_template("donors/collection.html", c=c, lots=lots_for_din(c.din),
                           form=DecisionForm())


@bp.route("/collections/<din>/<decision>", methods=["POST"])
@requires("donor.record")
def decide(din: str, decision: str):
    form = DecisionForm()
    try:
        service.decide_collection(service.get_collection(din), accept=decision == "accept",
                                  by=current_user, reason=form.reason.data or None)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    return redirect(url_for(".collection", din=din))
