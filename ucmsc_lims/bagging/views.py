"""Bagging pages: the fill session, fill verification, release for issue, bags, labels and the
product holds waiting for the pharmacist's disposition."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..core.clock import site_today
from ..core.errors import DomainError
from ..core.permissions import requires
from ..labels.download import label_response
from ..navigation import NavEntry
from . import fill, holds, printing, service
from .forms import (
    FillForm,
    HoldDispositionForm,
    PrintForm,
    PrintSheetForm,
    ReleaseForm,
    StartSessionForm,
    VerifyFillForm,
)

bp = Blueprint("bagging", __name__, url_prefix="/bagging")

NAV_ENTRIES = [
    NavEntry(_l("Fill session"), "bagging.session_page", "bag.fill"),
    NavEntry(_l("Fill verification"), "bagging.verify_page", "bag.verify_fill"),
    NavEntry(_l("Release bags"), "bagging.release_page", "bag.release"),
    NavEntry(_l("Product holds"), "bagging.holds_page", "bag.hold"),
    NavEntry(_l("Bags"), "bagging.bags", "bag.read"),
]

# The scans of one fill, in the order the technician makes them.
FILL_STEPS = (
    ("label", _l("Bag label")),
    ("source", _l("Source (product batch or saline lot)")),
    ("anticoagulant", _l("Anticoagulant lot")),
    ("saline", _l("Saline lot")),
    ("container", _l("Container lot")),
)


def _me():
    return current_user._get_current_object()


def _session_page(status: int = 200, *, fresh_scan: bool = False):
    today = site_today()
    sessions = fill.sessions_on(today)
    scans = {key: "" if fresh_scan else request.args.get(key, "").strip()
             for key, _label in FILL_STEPS}
    next_step = next(((k, label) for k, label in FILL_STEPS if not scans[k]), None)
    return render_template(
        "bagging/session.html", today=today, sessions=sessions,
        worklist=fill.worklist(today),
        reconciliations={s.id: fill.reconciliation(s) for s in sessions},
        start_form=StartSessionForm(), sheet_form=PrintSheetForm(),
        steps=FILL_STEPS, scans=scans, next_step=next_step,
        fill_form=FillForm(data=scans) if next_step is None else None,
    ), status


@bp.route("/")
@requires("bag.fill")
def session_page():
    """Today's fill session: the due doses of both arms by subject id, labels, fills. The fill
    scans are made one per step (a wedge scanner presses Enter after each)."""
    return _session_page()


@bp.route("/sessions", methods=["POST"])
@requires("bag.fill")
def start_session():
    form = StartSessionForm()
    if form.validate_on_submit():
        fill.open_session(by=_me(), room=form.room.data)
        flash(_("Today's fill session is open."), "success")
    else:
        flash(_("Name the fill room."), "error")
    return redirect(url_for("bagging.session_page"))


@bp.route("/sessions/<int:session_id>/labels", methods=["POST"])
@requires("label.print")
def print_sheet(session_id: int):
    """One A4 PDF sheet with the labels of every due dose not yet labelled (SPEC 4.5)."""
    if not PrintSheetForm().validate_on_submit():
        return redirect(url_for("bagging.session_page"))
    session = fill.get_session(session_id)
    try:
        pdf = printing.print_session_labels(session, by=_me())
    except DomainError as refused:
        flash(refused.message, "error")
        return _session_page(refused.status)
    response = make_response(pdf)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="labels-{session.day.isoformat()}-{session.room}.pdf"')
    return response


@bp.route("/fill", methods=["POST"])
@requires("bag.fill")
def fill_bag():
    form = FillForm()
    if not form.validate_on_submit():
        flash(_("Scan the label, the source and the three material lots."), "error")
        return redirect(url_for("bagging.session_page"))
    try:
        bag = fill.fill_bag(
            label_code=form.label.data, source_code=form.source.data,
            anticoagulant_code=form.anticoagulant.data, saline_code=form.saline.data,
            container_code=form.container.data, by=_me())
    except DomainError as refused:
        # Shown to the technician only (this page is theirs): it may name the source kind.
        flash(refused.message, "error")
        return _session_page(refused.status, fresh_scan=True)
    flash(_("Bag %(bag)s filled; it waits for a pharmacist's verification.", bag=bag.bag_id),
          "success")
    return redirect(url_for("bagging.session_page"))


def _verify_page(status: int = 200):
    bags = fill.bags_to_verify()
    return render_template("bagging/verify.html", bags=bags,
                           sources={b.id: service.source_of(b) for b in bags},
                           forms={b.id: VerifyFillForm(prefix=b.bag_id) for b in bags}), status


def _release_page(status: int = 200):
    bags = fill.bags_to_release()
    return render_template("bagging/release.html", bags=bags,
                           sources={b.id: service.source_of(b) for b in bags},
                           forms={b.id: ReleaseForm(prefix=b.bag_id) for b in bags}), status


@bp.route("/verify")
@requires("bag.verify_fill")
def verify_page():
    return _verify_page()


@bp.route("/bags/<bag_id>/verify", methods=["POST"])
@requires("bag.verify_fill")
def verify_fill(bag_id: str):
    form = VerifyFillForm(prefix=bag_id)
    if not form.validate_on_submit():
        flash(_("Enter your password to sign."), "error")
        return _verify_page(400)
    try:
        fill.verify_fill(service.get_bag(bag_id), by=_me(), password=form.password.data)
    except DomainError as refused:
        flash(refused.message, "error")
        return _verify_page(refused.status)
    flash(_("Fill of bag %(bag)s verified.", bag=bag_id), "success")
    return redirect(url_for("bagging.verify_page"))


@bp.route("/release")
@requires("bag.release")
def release_page():
    return _release_page()


@bp.route("/bags/<bag_id>/release", methods=["POST"])
@requires("bag.release")
def release(bag_id: str):
    form = ReleaseForm(prefix=bag_id)
    if not form.validate_on_submit():
        flash(_("Enter your password to sign."), "error")
        return _release_page(400)
    try:
        fill.release_for_issue(service.get_bag(bag_id), by=_me(), password=form.password.data)
    except DomainError as refused:
        flash(refused.message, "error")
        return _release_page(refused.status)
    flash(_("Bag %(bag)s released for issue.", bag=bag_id), "success")
    return redirect(url_for("bagging.release_page"))


def _holds_page(status: int = 200):
    found = holds.open_holds(by=_me())
    return render_template(
        "bagging/holds.html", holds=found, can_dispose=current_user.can("bag.destroy"),
        waiting=sum(len(view.waiting) for view in found),
        forms={held.bag.id: HoldDispositionForm(prefix=held.bag.bag_id)
               for view in found for held in view.bags}), status


@bp.route("/holds")
@requires("bag.hold")
def holds_page():
    """UNBLINDED: bags held for their content and their parity bags, with what waits for the
    pharmacist's disposition."""
    return _holds_page()


@bp.route("/holds/bags/<bag_id>/disposition", methods=["POST"])
@requires("bag.destroy")
def dispose_held_bag(bag_id: str):
    form = HoldDispositionForm(prefix=bag_id)
    if not form.validate_on_submit():
        flash(_("Choose the disposition, give the reason and enter your password."), "error")
        return _holds_page(400)
    try:
        bag = holds.dispose(service.get_bag(bag_id), decision=form.decision.data, by=_me(),
                            password=form.password.data, reason=form.reason.data)
    except DomainError as refused:
        flash(refused.message, "error")
        return _holds_page(refused.status)
    done = (_("Bag %(bag)s destroyed.", bag=bag.bag_id) if bag.status == "destroyed"
            else _("Bag %(bag)s released from its hold.", bag=bag.bag_id))
    flash(done, "success")
    return redirect(url_for("bagging.holds_page"))


@bp.route("/bags")
@requires("bag.read")
def bags():
    """Bags in bag id order, a page at a time (keyset after the last bag id)."""
    after = request.args.get("after") or None
    unblinded = not current_user.is_blinded
    rows = service.list_bags(unblinded=unblinded, subject_id=request.args.get("patient") or None,
                             after=after, limit=51)
    return render_template("bagging/bags.html", rows=rows[:50], more=len(rows) > 50,
                           unblinded=unblinded, effective_status=service.effective_status)


@bp.route("/bags/<bag_id>")
@requires("bag.read")
def bag_page(bag_id: str):
    bag = service.get_bag(bag_id)
    blinded = current_user.is_blinded
    return render_template(
        "bagging/bag.html", bag=bag, status=service.effective_status(bag),
        source=None if blinded else service.source_of(bag),
        history=service.bag_history(bag, blinded=blinded))


@bp.route("/bags/<bag_id>/label")
@requires("label.preview")
def label_page(bag_id: str):
    bag = service.get_bag(bag_id)
    return render_template("bagging/label.html", bag=bag, form=PrintForm(),
                           issues=bag.label_issues,
                           can_print=current_user.can("label.print"))


@bp.route("/bags/<bag_id>/label.svg")
@requires("label.preview")
def label_svg(bag_id: str):
    """The preview image of the label page: not a print, nothing recorded."""
    return label_response(*printing.preview(service.get_bag(bag_id), "svg"))


@bp.route("/bags/<bag_id>/print", methods=["POST"])
@requires("label.print")
def print_label(bag_id: str):
    form = PrintForm()
    bag = service.get_bag(bag_id)
    if not form.validate_on_submit():
        return redirect(url_for("bagging.label_page", bag_id=bag_id))
    try:
        body, mimetype = printing.print_label(bag, fmt=form.format.data,
                                              reason=form.reason.data, by=_me())
    except DomainError as refused:
        flash(refused.message, "error")
        return render_template("bagging/label.html", bag=bag, form=form,
                               issues=bag.label_issues, can_print=True), refused.status
    return label_response(body, mimetype, filename=f"label-{bag.code}.{form.format.data}")
