"""Trial pages: patients, enrollment, dose actions, emergency unblinding.

Blinded readers (SPEC 2) get pages with no arm and no true postponement reason; the templates
show arm columns only when the view passes arms, which it does for unblinded readers only.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..core.clock import site_today
from ..core.errors import DomainError
from ..core.permissions import requires
from ..followup import service as followup
from ..followup.events import CAUSALITY_LABELS
from ..navigation import NavEntry
from . import allocations, eligibility, service, unblinding
from . import wristband as wristband_label
from .forms import (
    AssessmentForm,
    ClearanceForm,
    EnrollmentForm,
    GenerateListForm,
    ImportListForm,
    MissedForm,
    PatientStatusForm,
    PostponeForm,
    RescheduleForm,
    UnblindingConfirmForm,
    UnblindingRequestForm,
    checklist_answers,
)
from .models import BLINDED_POSTPONEMENT_REASON

bp = Blueprint("trial", __name__, url_prefix="/trial")

NAV_ENTRIES = [
    NavEntry(_l("Patients"), "trial.patients", "patient.read"),
    NavEntry(_l("Enroll"), "trial.enroll", "patient.enroll"),
    NavEntry(_l("Randomization"), "trial.randomization", "randomization.read"),
    NavEntry(_l("Unblinding"), "trial.unblinding_report", "report.read"),
]


def _refused(error: DomainError, template: str, **context):
    flash(error.message, "error")
    return render_template(template, **context), error.status


# --- patients ----------------------------------------------------------------------------------


@bp.route("/patients")
@requires("patient.read")
def patients():
    """By key, both ways: `after` the last subject id shown, or `before` the first."""
    after, before = request.args.get("after"), request.args.get("before")
    rows, more = service.list_patients(after=after, before=before,
                                       per_page=service.PAGE_SIZE)
    arms = None if current_user.is_blinded else service.arms_of(rows)
    has_next = bool(rows) and (more if before is None else True)
    has_previous = bool(rows) and (more if before is not None else after is not None)
    return render_template("trial/patients.html", patients=rows, arms=arms, today=site_today(),
                           has_next=has_next, has_previous=has_previous)


def _patient_page(found):
    blinded = current_user.is_blinded
    return render_template(
        "trial/patient.html", patient=found,
        arm=None if blinded else service.arm_of(found),
        postponements=service.postponement_views(found, blinded=blinded),
        weight=service.weight_for_next_dose(found),
        clearances={d.id: service.clearance_signature(d) for d in found.doses},
        requests=unblinding.requests(patient=found, requested_by=current_user)
        if current_user.can("unblinding.request") else [],
        may_confirm=unblinding.may_confirm(current_user),
        pending=unblinding.requests(patient=found, status="requested"),
        status_form=PatientStatusForm(formdata=None, data={"on": site_today()}),
        reschedule_form=RescheduleForm(formdata=None),
        missed_form=MissedForm(formdata=None),
        checklist=eligibility.CHECKLISTS.get(found.eligibility_version),
        today=site_today(),
        clear_from={d.id: service.earliest_clearance(d, today=site_today())
                    for d in found.doses if d.state == "scheduled"},
    )


def _patient_refused(found, message: str, status: int):
    """A refused action on the patient page: the page again, with the reason, and a 4xx so
    the request's transaction rolls back."""
    flash(message, "error")
    return _patient_page(found), status


@bp.route("/patients/<subject_id>")
@requires("patient.read")
def patient(subject_id: str):
    return _patient_page(service.get_patient(subject_id))


@bp.route("/patients/<subject_id>/wristband.<any(svg, png, pdf, zpl):fmt>")
@requires("wristband.read")
def wristband(subject_id: str, fmt: str):
    return wristband_label.render(service.get_patient(subject_id), fmt)


@bp.route("/enroll", methods=["GET", "POST"])
@requires("patient.enroll")
def enroll():
    form = EnrollmentForm(data={"day0": site_today(), "site": "01"})
    strata = allocations.summary()
    form.stratum.choices = [(s.stratum, s.stratum or _("(unstratified)")) for s in strata]
    context = {"form": form, "strata": strata, "checklist": eligibility.CURRENT}
    if form.validate_on_submit():
        entry = service.EnrollmentEntry(
            subject_id=form.subject_id.data,
            hospital_record_number=form.hospital_record_number.data,
            initials=form.initials.data, date_of_birth=form.date_of_birth.data,
            site=form.site.data, weight_kg=form.weight_kg.data, stratum=form.stratum.data,
            eligibility=checklist_answers(form, eligibility.CURRENT),
            contraindications=frozenset(form.contraindications.data or ()),
            day0=form.day0.data,
        )
        try:
            enrolled = service.enroll_patient(entry, by=current_user)
        except DomainError as refused:
            return _refused(refused, "trial/enroll.html", **context)
        flash(_("Patient %(id)s enrolled with randomization number %(number)s.",
                id=enrolled.subject_id, number=enrolled.randomization_label), "success")
        return redirect(url_for("trial.patient", subject_id=enrolled.subject_id))
    status = 400 if request.method == "POST" else 200
    return render_template("trial/enroll.html", **context), status


@bp.route("/patients/<subject_id>/status", methods=["POST"])
@requires("patient.status")
def patient_status(subject_id: str):
    found = service.get_patient(subject_id)
    form = PatientStatusForm()
    if not form.validate_on_submit():
        return _patient_refused(found, _("Give the date and the reason."), 400)
    action = service.withdraw_patient if form.status.data == "withdrawn" else service.record_death
    try:
        action(found, by=current_user, on=form.on.data, reason=form.reason.data)
    except DomainError as refused:
        return _patient_refused(found, refused.message, refused.status)
    flash(_("Recorded; the remaining doses are cancelled."), "success")
    return redirect(url_for("trial.patient", subject_id=subject_id))


# --- dose actions ------------------------------------------------------------------------------


def _clearance_context(dose, form=None) -> dict:
    """The clearance page (SPEC 4.4): the dose, from when it may be cleared, the adverse events
    since the last dose with their assessments, and why it cannot be cleared today if so."""
    if form is None:
        form = ClearanceForm(formdata=None, data={"username": current_user.username})
    return {"form": form,
            "dose": dose, "patient": dose.patient,
            "review": service.clearance_review(dose, today=site_today()),
            "assessment_form": AssessmentForm(formdata=None),
            "may_assess": current_user.can("followup.record"),
            "causality_labels": CAUSALITY_LABELS}


@bp.route("/patients/<subject_id>/doses/<int:number>/clear", methods=["GET", "POST"])
@requires("dose.clear")
def clear(subject_id: str, number: int):
    dose = service.get_dose(subject_id, number)
    form = ClearanceForm(data={"username": current_user.username})
    if form.validate_on_submit():
        try:
            service.clear_dose(dose, by=current_user, password=form.password.data,
                               no_reaction_confirmed=form.no_reaction_confirmed.data,
                               weight_kg=form.weight_kg.data)
        except DomainError as refused:
            return _refused(refused, "trial/clear.html", **_clearance_context(dose, form))
        flash(_("Dose %(n)s of %(id)s cleared.", n=number, id=subject_id), "success")
        return redirect(url_for("trial.patient", subject_id=subject_id))
    status = 400 if request.method == "POST" else 200
    return render_template("trial/clear.html", **_clearance_context(dose, form)), status


@bp.route("/patients/<subject_id>/doses/<int:number>/adverse-events/<int:event_id>/assess",
          methods=["POST"])
@requires("followup.record")
def assess_adverse_event(subject_id: str, number: int, event_id: int):
    """The investigator assesses an adverse event from the clearance page of the next dose."""
    dose = service.get_dose(subject_id, number)
    event = followup.get_event(event_id)
    if event.patient_id != dose.patient_id:
        abort(404)
    form = AssessmentForm()
    if not form.validate_on_submit():
        flash(_("Choose the causality and give your assessment."), "error")
        context = _clearance_context(dose)
        context["assessment_form"] = form
        return render_template("trial/clear.html", **context), 400
    try:
        followup.assess_adverse_event(event, causality=form.causality.data,
                                      reason=form.reason.data, by=current_user)
    except DomainError as refused:
        return _refused(refused, "trial/clear.html", **_clearance_context(dose))
    flash(_("Assessment of %(term)s recorded.", term=event.term), "success")
    return redirect(url_for("trial.clear", subject_id=subject_id, number=number))


@bp.route("/patients/<subject_id>/doses/<int:number>/postpone", methods=["GET", "POST"])
@requires("dose.postpone")
def postpone(subject_id: str, number: int):
    dose = service.get_dose(subject_id, number)
    form = PostponeForm()
    context = {"form": form, "dose": dose, "patient": dose.patient,
               "blinded_reason": BLINDED_POSTPONEMENT_REASON}
    if form.validate_on_submit():
        try:
            service.postpone_dose(dose, by=current_user, true_reason=form.true_reason.data,
                                  new_date=form.new_date.data)
        except DomainError as refused:
            return _refused(refused, "trial/postpone.html", **context)
        flash(_("Dose %(n)s of %(id)s postponed: product not available.", n=number,
                id=subject_id), "success")
        return redirect(url_for("trial.patient", subject_id=subject_id))
    status = 400 if request.method == "POST" else 200
    return render_template("trial/postpone.html", **context), status


@bp.route("/patients/<subject_id>/doses/<int:number>/reschedule", methods=["POST"])
@requires("dose.reschedule")
def reschedule(subject_id: str, number: int):
    dose = service.get_dose(subject_id, number)
    form = RescheduleForm()
    if not form.validate_on_submit():
        return _patient_refused(dose.patient, _("Give the new date."), 400)
    try:
        service.reschedule_dose(dose, form.new_date.data, by=current_user)
    except DomainError as refused:
        return _patient_refused(dose.patient, refused.message, refused.status)
    flash(_("Dose %(n)s rescheduled.", n=number), "success")
    return redirect(url_for("trial.patient", subject_id=subject_id))


@bp.route("/patients/<subject_id>/doses/<int:number>/missed", methods=["POST"])
@requires("dose.record_missed")
def missed(subject_id: str, number: int):
    dose = service.get_dose(subject_id, number)
    form = MissedForm()
    if not form.validate_on_submit():
        return _patient_refused(dose.patient, _("Give a reason."), 400)
    try:
        service.mark_missed(dose, by=current_user, reason=form.reason.data)
    except DomainError as refused:
        return _patient_refused(dose.patient, refused.message, refused.status)
    flash(_("Dose %(n)s recorded as missed.", n=number), "success")
    return redirect(url_for("trial.patient", subject_id=subject_id))


# --- emergency unblinding ----------------------------------------------------------------------


@bp.route("/patients/<subject_id>/unblinding", methods=["GET", "POST"])
@requires("unblinding.request")
def request_unblinding(subject_id: str):
    found = service.get_patient(subject_id)
    form = UnblindingRequestForm()
    context = {"form": form, "patient": found}
    if form.validate_on_submit():
        try:
            record = unblinding.request_unblinding(found, by=current_user,
                                                   reason=form.reason.data)
        except DomainError as refused:
            return _refused(refused, "trial/unblinding_request.html", **context)
        flash(_("Emergency unblinding requested; the pharmacist confirms it."), "success")
        return redirect(url_for("trial.unblinding_detail", request_id=record.id))
    status = 400 if request.method == "POST" else 200
    return render_template("trial/unblinding_request.html", **context), status


def _may_see_request(record) -> bool:
    return record.requested_by_id == current_user.id or unblinding.may_confirm(current_user)


@bp.route("/unblinding/<int:request_id>")
@requires("unblinding.read")  # and only the requester or a confirmer: checked below
def unblinding_detail(request_id: int):
    record = unblinding.get_request(request_id)
    if not _may_see_request(record):
        abort(403)
    arm = None
    if record.status == "confirmed" and record.requested_by_id == current_user.id:
        arm = unblinding.reveal_arm(record, to=current_user)
    form = UnblindingConfirmForm(data={"username": current_user.username})
    return render_template("trial/unblinding_detail.html", record=record, arm=arm, form=form,
                           may_confirm=unblinding.may_confirm(current_user))


@bp.route("/unblinding/<int:request_id>/confirm", methods=["POST"])
@requires("unblinding.respond")  # the pharmacist, or an investigator where the protocol allows
def unblinding_confirm(request_id: int):
    record = unblinding.get_request(request_id)
    if not _may_see_request(record):
        abort(403)
    form = UnblindingConfirmForm()
    context = {"record": record, "arm": None, "form": form,
               "may_confirm": unblinding.may_confirm(current_user)}
    if not form.validate_on_submit():
        return render_template("trial/unblinding_detail.html", **context), 400
    try:
        unblinding.confirm_unblinding(record, by=current_user, password=form.password.data)
    except DomainError as refused:
        return _refused(refused, "trial/unblinding_detail.html", **context)
    flash(_("Emergency unblinding confirmed: the arm is shown to the requesting "
            "investigator."), "success")
    return redirect(url_for("trial.unblinding_detail", request_id=record.id))


@bp.route("/unblinding")
@requires("report.read")
def unblinding_report():
    return render_template("trial/unblinding_report.html",
                           rows=unblinding.report(by=current_user),
                           show_arm=not current_user.is_blinded,
                           may_confirm=unblinding.may_confirm(current_user))



# --- the allocation list (unblinded only) ------------------------------------------------------


@bp.route("/randomization")
@requires("randomization.read")
def randomization():
    stratum = request.args.get("stratum")
    return render_template(
        "trial/randomization.html", lists=allocations.lists(by=current_user),
        summary=allocations.summary(), stratum=stratum,
        rows=allocations.allocations(by=current_user, stratum=stratum) if stratum is not None
        else [],
        generate_form=GenerateListForm(), import_form=ImportListForm(),
        can_manage=current_user.can("randomization.manage"),
    )


def _randomization_refused(message: str, status: int, **forms):
    flash(message, "error")
    return render_template(
        "trial/randomization.html", lists=allocations.lists(by=current_user),
        summary=allocations.summary(), stratum=None, rows=[],
        generate_form=forms.get("generate_form") or GenerateListForm(formdata=None),
        import_form=forms.get("import_form") or ImportListForm(formdata=None),
        can_manage=True,
    ), status


def _numbers(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.replace(";", ",").split(",") if part.strip())
    except ValueError:
        raise DomainError(_("Block sizes are whole numbers separated by commas.")) from None


@bp.route("/randomization/generate", methods=["POST"])
@requires("randomization.manage")
def generate_list():
    form = GenerateListForm()
    if not form.validate_on_submit():
        return _randomization_refused(_("Check the fields of the form."), 400,
                                      generate_form=form)
    strata = [part.strip() for part in (form.strata.data or "").split(",") if part.strip()]
    try:
        allocations.generate_list(by=current_user, strata=strata or [""],
                                  per_stratum=form.per_stratum.data,
                                  block_sizes=_numbers(form.block_sizes.data))
    except DomainError as refused:
        return _randomization_refused(refused.message, refused.status, generate_form=form)
    flash(_("Allocation list generated and stored."), "success")
    return redirect(url_for("trial.randomization"))


@bp.route("/randomization/import", methods=["POST"])
@requires("randomization.manage")
def import_list():
    form = ImportListForm()
    if not form.validate_on_submit():
        return _randomization_refused(_("Choose the CSV file to import."), 400,
                                      import_form=form)
    upload = form.file.data
    try:
        text = upload.read().decode("utf-8")
    except UnicodeDecodeError:
        return _randomization_refused(_("The file is not UTF-8 text."), 422, import_form=form)
    try:
        allocations.import_list(text, by=current_user, filename=upload.filename)
    except DomainError as refused:
        return _randomization_refused(refused.message, refused.status, import_form=form)
    flash(_("Allocation list imported and stored."), "success")
    return redirect(url_for("trial.randomization"))


@bp.route("/randomization.csv")
@requires("randomization.read")
def export_list():
    body = allocations.export_csv(by=current_user)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="allocation-list.csv"'})
