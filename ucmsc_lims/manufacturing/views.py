"""Pages: lots, the lot page with its actions and growth chart, the technician's worklist,
the QA release queue and release page, the batch record PDF, the lot and vial labels."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from ..core.clock import site_zone
from ..core.errors import DomainError
from ..core.permissions import requires
from ..extensions import db
from ..labels.download import label_response
from ..labels.forms import LabelPrintForm
from ..labels.render import FORMATS, render
from ..navigation import NavEntry
from . import actions, forms, plausibility, service, steps
from .labels import lot_label, print_lot_label, print_vial_label, vial_label, vial_of
from .timeline import timeline

bp = Blueprint("manufacturing", __name__, url_prefix="/lots")

NAV_ENTRIES = [
    NavEntry(_l("Worklist"), "manufacturing.worklist", "lot.record"),
    NavEntry(_l("Lots"), "manufacturing.lots", "lot.read"),
    NavEntry(_l("Release queue"), "manufacturing.release_queue", "lot.release"),
]


def _local(value):
    return value.replace(tzinfo=site_zone()) if value is not None else None


def _codes(text: str | None) -> list[str]:
    return (text or "").replace(",", " ").split()


def _lot_context(lot) -> dict:
    from ..qc import release
    from ..qc import service as qc
    from ..qc.views import result_form

    rows, start = steps.growth_of(lot)
    spec, items = qc.item_statuses(lot)
    allowed = actions.allowed_actions(lot)
    return dict(
        lot=lot, rows=rows, start_cpd=start, chart=Markup(steps.growth_chart(lot)),
        spec=spec, items=items, deviations=qc.deviations_of(lot), events=timeline(lot),
        uses=service.material_uses(lot), batches=service.batches_of(lot) if lot.is_bank else [],
        conditional_open=release.conditional_open(lot),
        blockers=release.release_blockers(lot, by=current_user) if lot.state == "qc_pending"
        else [], next_passage=steps.next_passage_number(lot),
        processing_form=forms.ProcessingForm(prefix="proc"),
        passage_form=forms.PassageForm(prefix="pas"), bank_form=forms.BankForm(prefix="bank"),
        batch_form=forms.StartBatchForm(prefix="batch"),
        harvest_form=forms.HarvestForm(prefix="harv"), reason_form=forms.ReasonForm(prefix="r"),
        sign_form=forms.SignForm(prefix="sig"), qc_form=result_form(lot),
        show_cells=not current_user.is_blinded,
        allowed=allowed, step_hints=actions.step_hints(lot, allowed),
        cells_for_next_passage=plausibility.cells_for_next_passage(lot),
        label_formats=list(FORMATS), label_form=LabelPrintForm(prefix="lot-label"),
        vial_forms={v.number: _vial_form(v.number) for v in lot.vials},
    )


def _vial_form(number: int) -> LabelPrintForm:
    return LabelPrintForm(prefix=f"vial-{number}")


def render_lot(lot, status: int = 200):
    return render_template("manufacturing/lot.html", **_lot_context(lot)), status


def refused(lot_id: str, error: DomainError):
    """Undo whatever the refused action flushed, then show the lot with the message."""
    db.session.rollback()
    flash(error.message, "error")
    return render_lot(service.get_lot(lot_id), error.status)


@bp.route("/")
@requires("lot.read")
def lots():
    return render_template("manufacturing/lots.html", lots=service.list_lots(limit=500),
                           start_form=forms.StartBankForm())


@bp.route("/for-din/<din>")
@requires("lot.read")
def for_din(din: str):
    return render_template("manufacturing/lots.html", lots=service.lots_for_din(din),
                           start_form=forms.StartBankForm())


@bp.route("/<lot_id>")
@requires("lot.read")
def lot_page(lot_id: str):
    return render_lot(service.get_lot(lot_id))


@bp.route("/growth/<lot_id>.svg")
@requires("lot.read")
def growth_svg(lot_id: str):
    return Response(steps.growth_chart(service.get_lot(lot_id)), mimetype="image/svg+xml")


@bp.route("/start", methods=["POST"])
@requires("lot.record")
def start_bank():
    from ..donors.service import get_collection

    form = forms.StartBankForm()
    try:
        lot = steps.start_cell_bank(get_collection(form.din.data or ""), by=current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return render_template("manufacturing/lots.html", lots=service.list_lots(limit=500),
                               start_form=form), error.status
    flash(_("Cell bank lot %(id)s started.", id=lot.lot_id), "success")
    return redirect(url_for(".lot_page", lot_id=lot.lot_id))


def lot_action(lot_id: str, action, done: str):
    """Run one action on a lot from its page: back to the lot page with the outcome."""
    lot = service.get_lot(lot_id)
    try:
        action(lot)
    except DomainError as error:
        return refused(lot_id, error)
    flash(done, "success")
    return redirect(url_for("manufacturing.lot_page", lot_id=lot.lot_id))


@bp.route("/<lot_id>/processing", methods=["POST"])
@requires("lot.record")
def record_processing(lot_id: str):
    form = forms.ProcessingForm(prefix="proc")
    return lot_action(lot_id, lambda lot: steps.record_processing(
        lot, method=form.method.data, by=current_user, materials_used=_codes(form.materials.data)),
        _("Processing recorded."))


@bp.route("/<lot_id>/passages", methods=["POST"])
@requires("lot.record")
def record_passage(lot_id: str):
    form = forms.PassageForm(prefix="pas")
    if not form.validate():
        return refused(lot_id, DomainError(_("Fill in every passage field with a valid value.")))
    return lot_action(lot_id, lambda lot: steps.record_passage(
        lot, seeded_at=_local(form.seeded_at.data), harvested_at=_local(form.harvested_at.data),
        vessels=form.vessels.data, cells_seeded=form.cells_seeded.data,
        cells_harvested=form.cells_harvested.data, viability_pct=form.viability_pct.data,
        confluence_pct=form.confluence_pct.data, incubator=form.incubator.data, by=current_user,
        materials_used=_codes(form.materials.data), growth_reason=form.growth_reason.data),
        _("Passage recorded."))


@bp.route("/<lot_id>/passages/<int:number>/verify", methods=["POST"])
@requires("lot.record")
def verify_passage(lot_id: str, number: int):
    def verify(lot):
        passage = service.passage_at(lot, number)
        if passage is None:
            raise DomainError(_("No passage P%(n)s.", n=number))
        steps.verify_passage(passage, by=current_user)

    return lot_action(lot_id, verify, _("Passage P%(n)s verified.", n=number))


@bp.route("/<lot_id>/bank", methods=["POST"])
@requires("lot.record")
def bank(lot_id: str):
    form = forms.BankForm(prefix="bank")
    if not form.validate():
        return refused(lot_id, DomainError(_("Fill in every banking field.")))
    return lot_action(lot_id, lambda lot: steps.bank_lot(
        lot, positions=steps.vial_positions(form.dewar.data, form.box.data, form.vials.data),
        cells_per_vial=form.cells_per_vial.data, by=current_user,
        materials_used=_codes(form.materials.data)), _("Cryopreserved."))


@bp.route("/<lot_id>/batches", methods=["POST"])
@requires("lot.record")
def start_batch(lot_id: str):
    form = forms.StartBatchForm(prefix="batch")
    created = []

    def start(lot):
        try:
            numbers = [int(n) for n in _codes(form.vials.data)]
        except ValueError:
            raise DomainError(_("Vial numbers are whole numbers, e.g. 1 2.")) from None
        created.append(steps.start_batch(lot, vial_numbers=numbers, by=current_user))

    response = lot_action(lot_id, start, _("Batch started."))
    if created:
        return redirect(url_for(".lot_page", lot_id=created[0].lot_id))
    return response


@bp.route("/<lot_id>/harvest", methods=["POST"])
@requires("lot.record")
def harvest(lot_id: str):
    form = forms.HarvestForm(prefix="harv")
    if not form.validate():
        return refused(lot_id, DomainError(_("Give the cells harvested and the viability.")))
    return lot_action(lot_id, lambda lot: steps.harvest_batch(
        lot, cells_harvested=form.cells_harvested.data, viability_pct=form.viability_pct.data,
        by=current_user, materials_used=_codes(form.materials.data)), _("Harvest recorded."))


@bp.route("/<lot_id>/submit", methods=["POST"])
@requires("lot.record")
def submit_for_qc(lot_id: str):
    return lot_action(lot_id, lambda lot: steps.submit_for_qc(lot, by=current_user),
                 _("Sent to QC."))


@bp.route("/<lot_id>/destroy", methods=["POST"])
@requires("lot.destroy")
def destroy(lot_id: str):
    form = forms.ReasonForm(prefix="r")
    return lot_action(lot_id, lambda lot: service.transition(
        lot, "destroyed", by=current_user, reason=form.reason.data), _("Lot destroyed."))


@bp.route("/worklist")
@requires("lot.record")
def worklist():
    from .worklist import due_today

    return render_template("manufacturing/worklist.html", work=due_today())


@bp.route("/release-queue")
@requires("lot.release")
def release_queue():
    from ..qc import release
    from ..qc import service as qc

    return render_template("manufacturing/release_queue.html",
                           rows=release.release_queue(by=current_user), alerts=qc.alerts())


@bp.route("/<lot_id>/batch-record.pdf")
@requires("batch_record.read")
def batch_record(lot_id: str):
    from .pdf import batch_record_pdf

    lot = service.get_lot(lot_id)
    return Response(batch_record_pdf(lot, blinded=current_user.is_blinded),
                    mimetype="application/pdf", headers={
                        "Content-Disposition": f'inline; filename="{lot.lot_id}-batch-record.pdf"'})


# --- Labels (SPEC 4.6): previews for a signed-in page user, prints as their own action --------


@bp.route("/<lot_id>/label.<any(svg, png, pdf, zpl):fmt>")
@requires("lot_label.read")
def lot_label_preview(lot_id: str, fmt: str):
    """The ISBT 128 lot label, opened from the lot page: a preview, nothing recorded (the API's
    `GET /api/v1/lots/{lot_id}/label.{fmt}` is its twin for bearer tokens)."""
    return label_response(*render(lot_label(service.get_lot(lot_id)), fmt))


@bp.route("/<lot_id>/label/prints", methods=["POST"])
@requires("label.print")
def lot_label_print(lot_id: str):
    form = LabelPrintForm(prefix="lot-label")
    if not form.validate_on_submit():
        return refused(lot_id, DomainError(_("Choose the label format.")))
    lot = service.get_lot(lot_id)
    try:
        body, mimetype = print_lot_label(lot, fmt=form.format.data, by=current_user)
    except DomainError as error:
        return refused(lot_id, error)
    return label_response(body, mimetype, filename=f"{lot.lot_id}-label.{form.format.data}")


@bp.route("/<lot_id>/vials/<int:number>/label.<any(svg, png, pdf, zpl):fmt>")
@requires("lot_label.read")
def vial_label_preview(lot_id: str, number: int, fmt: str):
    """One vial's label, opened from its lot page: a preview, nothing recorded."""
    vial = vial_of(service.get_lot(lot_id), number)
    return label_response(*render(vial_label(vial), fmt))


@bp.route("/<lot_id>/vials/<int:number>/label/prints", methods=["POST"])
@requires("label.print")
def vial_label_print(lot_id: str, number: int):
    form = _vial_form(number)
    if not form.validate_on_submit():
        return refused(lot_id, DomainError(_("Choose the label format.")))
    try:
        vial = vial_of(service.get_lot(lot_id), number)
        body, mimetype = print_vial_label(vial, fmt=form.format.data, by=current_user)
    except DomainError as error:
        return refused(lot_id, error)
    return label_response(body, mimetype, filename=f"{vial.label}-label.{form.format.data}")
