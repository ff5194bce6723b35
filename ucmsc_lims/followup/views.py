"""Follow-up pages: the worklist, a patient's visits and charts, events, survival, export."""

from __future__ import annotations

import contextlib
from decimal import Decimal, InvalidOperation

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..core.clock import site_today
from ..core.errors import DomainError
from ..core.ids import ScanError
from ..core.permissions import requires
from ..navigation import NavEntry
from ..trial import service as trial
from ..web import id_arg
from . import charts, export, service
from .forms import (
    CorrectLabForm,
    DeathForm,
    EventForm,
    ExportForm,
    LockForm,
    MissedVisitForm,
    VisitForm,
    VoidEventForm,
    unit_choices,
)

# Visits shown on the worklist page: the most urgent first.
WORKLIST_SIZE = 100

bp = Blueprint("followup", __name__, url_prefix="/followup")

NAV_ENTRIES = [
    NavEntry(_l("Follow-up"), "followup.worklist", "followup.read"),
    NavEntry(_l("Survival"), "followup.study", "followup.read"),
    NavEntry(_l("Follow-up export"), "followup.export_page", "followup.export"),
]


def _form_errors(form, refused: DomainError) -> None:
    """Put the service's refusals beside the fields they concern (labs: the value field)."""
    for name, messages in refused.field_errors.items():
        field = form._fields.get(name) or form._fields.get(f"lab_{name}_value")
        if field is not None:
            field.errors = [*field.errors, *messages]


@bp.route("/")
@requires("followup.read")
def worklist():
    """The most urgent visits first; one more is asked for to know whether others wait."""
    rows = service.worklist(limit=WORKLIST_SIZE + 1)
    return render_template("followup/worklist.html", rows=rows[:WORKLIST_SIZE],
                           more=len(rows) > WORKLIST_SIZE, today=site_today())


@bp.route("/find")
@requires("followup.read")
def find():
    """A scanned wristband or a typed subject id opens the patient's follow-up."""
    code = request.args.get("code", "").strip()
    patient = None
    with contextlib.suppress(ScanError):  # not a wristband code: try it as a subject id
        patient = trial.patient_by_code(code)
    if patient is None:
        try:
            patient = service.get_patient(code)
        except DomainError:
            flash(_("No patient with the subject id or wristband %(code)s.", code=code), "error")
            return redirect(url_for("followup.worklist"))
    return redirect(url_for("followup.patient", subject_id=patient.subject_id))


@bp.route("/study")
@requires("followup.read")
def study():
    return render_template("followup/study.html", survival=charts.study_survival())


def _patient_page(patient, *, death_form=None, status=200):
    can_record = current_user.can("followup.record")
    return render_template(
        "followup/patient.html", patient=patient, plan=service.visit_plan(patient),
        scores={v.id: service.scores_of(v) for v in service.completed_visits(patient)},
        events=service.events_of(patient, include_void=True),
        survival=service.survival_of(patient), charts=charts.patient_trends(patient),
        can_record=can_record and service.current_lock() is None,
        death_form=death_form or DeathForm(), void_form=VoidEventForm(),
        missed_form=MissedVisitForm(), labels=service.EVENT_LABELS,
        causality_labels=service.CAUSALITY_LABELS,
    ), status


@bp.route("/patients/<subject_id>")
@requires("followup.read")
def patient(subject_id: str):
    return _patient_page(service.get_patient(subject_id))


def _visit_form(patient, form: VisitForm) -> VisitForm:
    form.visit_week.choices = [
        (p.due.visit_week, _("Week %(week)s (due %(due)s)", week=p.due.visit_week,
                             due=p.due.due_on.isoformat()))
        for p in service.visit_plan(patient) if p.visit is None
    ]
    return form


def _decimal(text: str | None) -> float | None:
    try:
        return float(Decimal(text)) if (text or "").strip() else None
    except InvalidOperation:
        raise DomainError(_("PT control: '%(text)s' is not a number.", text=text),
                          field_errors={"pt_control_s": [_("Not a number.")]}) from None


@bp.route("/patients/<subject_id>/visits/new", methods=["GET", "POST"])
@requires("followup.record")
def new_visit(subject_id: str):
    patient = service.get_patient(subject_id)
    week = id_arg("week")
    form = _visit_form(patient, VisitForm(data={"visit_week": week, "visit_date": site_today()}
                                          if request.method == "GET" else None))
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                service.record_visit(
                    patient, visit_week=form.visit_week.data, visit_date=form.visit_date.data,
                    labs=form.labs(), by=current_user, ascites=form.ascites.data or None,
                    encephalopathy_grade=form.encephalopathy_grade.data,
                    dialysis=form.dialysis.data, pt_control_s=_decimal(form.pt_control_s.data),
                    notes=form.notes.data,
                )
            except DomainError as refused:
                _form_errors(form, refused)
                flash(refused.message, "error")
                status = refused.status
            else:
                flash(_("Visit at week %(week)s recorded.", week=form.visit_week.data), "success")
                return redirect(url_for("followup.visit", subject_id=subject_id,
                                        week=form.visit_week.data))
    return render_template("followup/visit_form.html", patient=patient, form=form), status


@bp.route("/patients/<subject_id>/visits/<int:week>")
@requires("followup.read")
def visit(subject_id: str, week: int):
    patient = service.get_patient(subject_id)
    found = service.get_visit(patient, week)
    correct_forms = {}
    for lab in found.current_labs:
        form = CorrectLabForm(prefix=f"lab{lab.id}", data={"unit": lab.unit})
        form.unit.choices = unit_choices(lab.analyte)
        correct_forms[lab.id] = form
    return render_template(
        "followup/visit.html", patient=patient, visit=found, scores=service.scores_of(found),
        rows=service.lab_rows(found.labs), correct_forms=correct_forms,
        can_record=current_user.can("followup.record") and service.current_lock() is None,
    )


@bp.route("/patients/<subject_id>/visits/<int:week>/missed", methods=["POST"])
@requires("followup.record")
def missed_visit(subject_id: str, week: int):
    patient = service.get_patient(subject_id)
    form = MissedVisitForm()
    if not form.validate_on_submit():
        flash(_("Say why the visit did not take place."), "error")
        return _patient_page(patient, status=400)
    service.record_missed_visit(patient, visit_week=week, reason=form.reason.data,
                                by=current_user)
    flash(_("Visit at week %(week)s recorded as missed.", week=week), "success")
    return redirect(url_for("followup.patient", subject_id=subject_id))


@bp.route("/labs/<int:lab_id>/correct", methods=["POST"])
@requires("followup.record")
def correct_lab(lab_id: int):
    lab = service.get_lab(lab_id)
    form = CorrectLabForm(prefix=f"lab{lab.id}")
    form.unit.choices = unit_choices(lab.analyte)
    visit = lab.visit
    patient = visit.patient
    if not form.validate_on_submit():
        flash(_("A correction needs the value and a reason."), "error")
    else:
        service.correct_lab(lab, value=form.value.data, unit=form.unit.data,
                            reason=form.reason.data, by=current_user)
        flash(_("Result corrected; the previous value is kept."), "success")
    return redirect(url_for("followup.visit", subject_id=patient.subject_id,
                            week=visit.visit_week))


@bp.route("/patients/<subject_id>/events/new", methods=["GET", "POST"])
@requires("followup.record")
def new_event(subject_id: str):
    patient = service.get_patient(subject_id)
    form = EventForm(data={"onset_date": site_today()} if request.method == "GET" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                service.record_event(
                    patient, kind=form.kind.data, onset_date=form.onset_date.data,
                    by=current_user, term=form.term.data, grade=form.grade.data,
                    serious=form.serious.data, infusion_id=form.infusion_id.data,
                    description=form.description.data,
                )
            except DomainError as refused:
                _form_errors(form, refused)
                flash(refused.message, "error")
                status = refused.status
            else:
                flash(_("Event recorded."), "success")
                return redirect(url_for("followup.patient", subject_id=subject_id))
    return render_template("followup/event_form.html", patient=patient, form=form), status


@bp.route("/events/<int:event_id>/void", methods=["POST"])
@requires("followup.record")
def void_event(event_id: int):
    event = service.get_event(event_id)
    form = VoidEventForm()
    if form.validate_on_submit():
        service.void_event(event, reason=form.reason.data, by=current_user)
        flash(_("Event voided; it stays on record."), "success")
    else:
        flash(_("Voiding an event needs a reason."), "error")
    return redirect(url_for("followup.patient", subject_id=event.patient.subject_id))


@bp.route("/patients/<subject_id>/death", methods=["POST"])
@requires("followup.record")
def death(subject_id: str):
    patient = service.get_patient(subject_id)
    form = DeathForm()
    if not form.validate_on_submit():
        return _patient_page(patient, death_form=form, status=400)
    try:
        service.record_death(patient, died_on=form.died_on.data, cause=form.cause.data,
                             by=current_user)
    except DomainError as refused:
        _form_errors(form, refused)
        flash(refused.message, "error")
        return _patient_page(patient, death_form=form, status=refused.status)
    flash(_("Death recorded."), "success")
    return redirect(url_for("followup.patient", subject_id=subject_id))


def _export_page(lock_form=None, status=200):
    lock = service.current_lock()
    return render_template(
        "followup/export.html", lock=lock,
        signature=service.lock_signature(lock) if lock else None,
        with_arm=export.may_see_arm(current_user), form=ExportForm(),
        lock_form=lock_form or LockForm(),
        can_lock=current_user.can("followup.lock") and lock is None,
        columns={d: export.columns(d, with_arm=export.may_see_arm(current_user))
                 for d in export.COLUMNS},
    ), status


@bp.route("/export")
@requires("followup.export")
def export_page():
    return _export_page()


@bp.route("/export", methods=["POST"])
@requires("followup.export")
def export_download():
    result = export.export_study(by=current_user)
    return Response(result.content, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{result.filename}"'})


@bp.route("/lock", methods=["POST"])
@requires("followup.lock")
def lock():
    form = LockForm()
    if not form.validate_on_submit():
        return _export_page(lock_form=form, status=400)
    try:
        service.lock_database(username=current_user.username, password=form.password.data,
                              reason=form.reason.data, by=current_user)
    except DomainError as refused:
        _form_errors(form, refused)
        flash(refused.message, "error")
        return _export_page(lock_form=form, status=refused.status)
    flash(_("The follow-up database is locked."), "success")
    return redirect(url_for("followup.export_page"))
