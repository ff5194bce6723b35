"""QC pages: result entry and review, deviations, specifications, and QA's release, rejection,
hold and recall of a lot by e-signature."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..core.clock import format_local, site_now, site_zone
from ..core.errors import DomainError
from ..core.esign import MEANINGS
from ..core.permissions import requires
from ..extensions import db
from ..manufacturing import actions
from ..manufacturing import service as manufacturing
from ..manufacturing.forms import InvestigationForm, QcResultForm, SignForm
from ..manufacturing.views import lot_action
from ..navigation import NavEntry
from . import release
from . import service as qc
from .forms import SPARE_ROWS, SpecificationForm

bp = Blueprint("qc", __name__, url_prefix="/qc")

NAV_ENTRIES = [NavEntry(_l("Deviations"), "qc.deviations", "lot.read")]


def result_form(lot) -> QcResultForm:
    form = QcResultForm(prefix="qc")
    form.test.choices = [(i.test, f"{i.label} ({i.criterion})")
                         for i in qc.spec_in_force(lot.kind).items]
    return form


@bp.route("/lots/<lot_id>/results", methods=["POST"])
@requires("qc.record")
def record_result(lot_id: str):
    lot = manufacturing.get_lot(lot_id)
    form = result_form(lot)
    sampled_at = form.sampled_at.data.replace(tzinfo=site_zone()) if form.sampled_at.data \
        else None
    return lot_action(lot_id, lambda lot: qc.record_result(
        lot, test=form.test.data, value=form.value.data, method=form.method.data or None,
        sample_id=form.sample_id.data or "", instrument=form.instrument.data or None,
        sampled_at=sampled_at, by=current_user), _("Result recorded."))


@bp.route("/lots/<lot_id>/results/<int:result_id>/review", methods=["POST"])
@requires("qc.review")
def review_result(lot_id: str, result_id: int):
    return lot_action(
        lot_id, lambda lot: qc.review_result(qc.get_result(result_id), by=current_user),
        _("Result reviewed."))


def _release_page(lot, status: int = 200):
    """The signatures offered are those the services would accept now (`release_refusals`,
    `allowed_actions`): nothing to sign on a released lot."""
    return render_template(
        "qc/release.html", lot=lot, blockers=release.release_blockers(lot, by=current_user),
        may_release=not release.release_refusals(lot, by=current_user),
        may_reject="reject" in actions.allowed_actions(lot),
        meaning=MEANINGS["lot_release"], form=SignForm(prefix="sig"),
        reject_form=SignForm(prefix="rej"), summary=release.qc_summary(lot)), status


@bp.route("/release/<lot_id>")
@requires("lot.release")
def release_page(lot_id: str):
    return _release_page(manufacturing.get_lot(lot_id))


def _signed(lot_id: str, prefix: str, action, done: str):
    lot = manufacturing.get_lot(lot_id)
    form = SignForm(prefix=prefix)
    if not form.validate():
        flash(_("Enter your username and password to sign."), "error")
        return _release_page(lot, 400)
    try:
        action(lot, form)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _release_page(manufacturing.get_lot(lot_id), error.status)
    flash(done, "success")
    return redirect(url_for("manufacturing.lot_page", lot_id=lot.lot_id))


@bp.route("/release/<lot_id>", methods=["POST"])
@requires("lot.release")
def release_lot(lot_id: str):
    return _signed(lot_id, "sig", lambda lot, f: release.release_lot(
        lot, by=current_user, username=f.username.data, password=f.password.data,
        conditional_tests=(f.conditional_tests.data or "").replace(",", " ").split()),
        _("Lot released."))


@bp.route("/release/<lot_id>/reject", methods=["POST"])
@requires("lot.release")
def reject_lot(lot_id: str):
    return _signed(lot_id, "rej", lambda lot, f: release.reject_lot(
        lot, by=current_user, username=f.username.data, password=f.password.data,
        reason=f.reason.data or ""), _("Lot rejected."))


def _signed_with_reason(lot_id: str, act, done: str):
    """A hold, a recall or the end of a hold: signed with a reason on the lot page, and
    answered there."""
    form = SignForm(prefix="sig")
    return lot_action(lot_id, lambda lot: act(
        lot, by=current_user, username=form.username.data or "",
        password=form.password.data or "", reason=form.reason.data or ""), done)


@bp.route("/lots/<lot_id>/hold", methods=["POST"])
@requires("lot.hold")
def hold_lot(lot_id: str):
    return _signed_with_reason(lot_id, release.hold_lot, _("Lot on hold."))


@bp.route("/lots/<lot_id>/recall", methods=["POST"])
@requires("lot.hold")
def recall_lot(lot_id: str):
    return _signed_with_reason(lot_id, release.recall_lot, _("Lot recalled."))


@bp.route("/lots/<lot_id>/end-hold", methods=["POST"])
@requires("lot.hold")
def end_hold(lot_id: str):
    return _signed_with_reason(lot_id, release.end_hold, _("Hold ended."))


@bp.route("/deviations")
@requires("lot.read")
def deviations():
    return render_template("qc/deviations.html", deviations=qc.list_deviations())


def _deviation_page(deviation, status: int = 200):
    lot = db.session.get(manufacturing.Lot, deviation.lot_id)
    return render_template("qc/deviation.html", deviation=deviation, lot=lot,
                           form=InvestigationForm(data={"investigation":
                                                        deviation.investigation}),
                           sign_form=SignForm(prefix="sig"),
                           meaning=MEANINGS["deviation_disposition"]), status


@bp.route("/deviations/<number>")
@requires("lot.read")
def deviation(number: str):
    return _deviation_page(qc.get_deviation(number))


@bp.route("/deviations/<number>/investigation", methods=["POST"])
@requires("deviation.investigate")
def investigate(number: str):
    form = InvestigationForm()
    try:
        qc.record_investigation(qc.get_deviation(number), text=form.investigation.data or "",
                                by=current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _deviation_page(qc.get_deviation(number), error.status)
    flash(_("Investigation saved."), "success")
    return redirect(url_for(".deviation", number=number))


@bp.route("/deviations/<number>/close/<disposition>", methods=["POST"])
@requires("deviation.disposition")
def close_deviation(number: str, disposition: str):
    form = SignForm(prefix="sig")
    try:
        qc.close_deviation(qc.get_deviation(number), disposition=disposition, by=current_user,
                           username=form.username.data or "", password=form.password.data or "")
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _deviation_page(qc.get_deviation(number), error.status)
    flash(_("Deviation closed."), "success")
    return redirect(url_for(".deviation", number=number))


@bp.route("/specifications")
@requires("lot.read")
def specifications():
    specs = qc.list_specifications()
    in_force = {spec.lot_kind: spec for spec in qc.specs_in_force({s.lot_kind for s in specs})
                .values()}
    latest = {spec.lot_kind: spec for spec in specs}  # listed by kind, then version
    return render_template("qc/specifications.html", specs=specs, in_force=in_force,
                           latest=latest)


def _specification_page(lot_kind: str, form: SpecificationForm, status: int = 200):
    return render_template("qc/specification_new.html", form=form,
                           current=qc.latest_specification(lot_kind), lot_kind=lot_kind), status


@bp.get("/specifications/<any(cell_bank, product_batch):lot_kind>/new")
@requires("lot.release")
def new_specification(lot_kind: str):
    """The form starts from the newest version: QA changes what changes."""
    current = qc.latest_specification(lot_kind)
    rows = [{name: getattr(item, name) for name in qc.ITEM_FIELDS} for item in current.items]
    form = SpecificationForm(formdata=None, data={
        "title": current.title, "items": rows + [{} for _ in range(SPARE_ROWS)],
        "username": current_user.username,
        "effective_from": max(site_now(), current.effective_from.astimezone(site_zone())
                              + timedelta(minutes=1)).replace(second=0, microsecond=0,
                                                              tzinfo=None)})
    return _specification_page(lot_kind, form)


@bp.post("/specifications/<any(cell_bank, product_batch):lot_kind>/new")
@requires("lot.release")
def approve_specification(lot_kind: str):
    form = SpecificationForm()
    if not form.validate_on_submit():
        return _specification_page(lot_kind, form, 400)
    try:
        spec = qc.approve_specification_version(
            lot_kind, title=form.title.data, items=[row.data for row in form.items],
            effective_from=form.effective_from.data.replace(tzinfo=site_zone()),
            by=current_user, username=form.username.data, password=form.password.data)
    except DomainError as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return _specification_page(lot_kind, form, refused.status)
    flash(_("%(title)s v%(version)s approved, in force from %(at)s.", title=spec.title,
            version=spec.version, at=format_local(spec.effective_from)), "success")
    return redirect(url_for("qc.specifications"))
