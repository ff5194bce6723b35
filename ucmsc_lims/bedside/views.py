"""The bedside page (SPEC 4.8, SPEC 7 labels), nurse 2's confirmation, the infusion record and
the near-miss list for QA."""

from __future__ import annotations

from datetime import UTC

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..core.clock import site_zone
from ..core.db import utcnow
from ..core.errors import DomainError
from ..core.permissions import requires
from ..navigation import NavEntry
from ..web import id_arg
from . import infusions, service
from .forms import (
    AdverseEventForm,
    BedsideForm,
    ConfirmForm,
    InfusionRecordForm,
    StartForm,
    WardForm,
)
from .infusions import AdverseEventEntry

bp = Blueprint("bedside", __name__, url_prefix="/bedside")

NAV_ENTRIES = [
    NavEntry(_l("Bedside"), "bedside.index", "bedside.verify"),
    NavEntry(_l("Near-misses"), "bedside.near_misses", "nearmiss.read"),
]


def _ward() -> str | None:
    return session.get("ward")


def _set_ward(code: str) -> bool:
    from ..custody import service as custody

    ward = custody.ward_for_session(code)
    if ward is None:
        flash(_("%(code)s is not a ward's location label.", code=code[:40]), "error")
        return False
    session["ward"] = ward.code
    flash(_("Ward set to %(name)s (%(code)s).", name=ward.name, code=ward.code), "success")
    return True


def _autofocus(form: BedsideForm) -> str:
    if not (form.wristband.data or "").strip():
        return "wristband"
    if form.weight_kg.data is None:
        return "weight_kg"
    return "bag"


def _render_index(form: BedsideForm, status: int = 200):
    patient, problem = (None, None)
    if (form.wristband.data or "").strip():
        patient, problem = service.patient_for_wristband(form.wristband.data)
    return render_template(
        "bedside/index.html", form=form, ward_form=WardForm(), ward=_ward(),
        patient=patient, patient_problem=problem, autofocus=_autofocus(form),
    ), status


@bp.route("", methods=["GET"])
@requires("bedside.verify")
def index():
    return _render_index(BedsideForm(formdata=None))


@bp.route("", methods=["POST"])
@requires("bedside.verify")
def scan():
    """Enter in any field lands here: a wristband shows the patient to compare; a bag with
    the rest gets its decision. A ward label scanned into a field changes the ward."""
    form = BedsideForm()
    if not form.validate():
        return _render_index(form, 400)
    for field in (form.wristband, form.bag):
        text = (field.data or "").strip().upper()
        if text.startswith("L-"):
            _set_ward(text)
            field.data = ""
            return _render_index(form)
    if not (form.bag.data or "").strip():
        return _render_index(form)
    verification = service.verify(
        patient_code=form.wristband.data or "", bag_code=form.bag.data,
        weight_kg=float(form.weight_kg.data) if form.weight_kg.data is not None else None,
        by=current_user, ward_code=_ward(), identity_confirmed=form.identity_confirmed.data,
        bag_intact=form.bag_intact.data,
    )
    if request.args.get("fragment") == "1":
        return _verification_fragment(verification)
    return redirect(url_for("bedside.verification", verification_id=verification.id))


def _verification_fragment(verification):
    """SPEC 9 "What a nurse feels": the page's script asked for the decision itself, in the
    answer to its POST, instead of a redirect and a second round trip. The same partial as
    the verification page, for both arms; the response leaves only after the request's
    commit (web._finish_transaction), so a decision is never shown before it is recorded.
    Content-Location names the verification page, which the script puts in the address bar
    so that a reload shows the recorded verification."""
    body = render_template("bedside/_verification.html", **_verification_context(verification))
    location = url_for("bedside.verification", verification_id=verification.id)
    return body, 200, {"Content-Location": location}


@bp.route("/ward", methods=["POST"])
@requires("bedside.verify")
def ward():
    form = WardForm()
    if form.validate_on_submit():
        _set_ward(form.ward.data.strip().upper())
    return redirect(url_for("bedside.index"))


def _verification_context(verification, *, refusal=None, confirm_form=None) -> dict:
    infusion = service.infusion_of(verification)
    checks = refusal.checks if refusal else (verification.confirm_checks or verification.checks)
    go = refusal is None and verification.is_go
    valid_until = service.valid_until(verification)
    bag = verification.bag
    # A GO holds until the bag expires and, once confirmed, until the validity ends (SPEC
    # 4.7, 4.8); an infusion under way is never expired by the clock.
    ends = [] if infusion or not go or bag is None else [
        t for t in (bag.expires_at, valid_until) if t is not None]
    decision_until = min(ends) if ends else None
    return {
        "verification": verification, "checks": checks, "go": go, "refusal": refusal,
        "infusion": infusion, "valid_until": valid_until,
        "valid": service.is_valid(verification), "start_form": StartForm(),
        "confirm_form": confirm_form, "bag": bag, "patient": verification.patient,
        "decision_until": decision_until,
        "lapsed": decision_until is not None and decision_until <= utcnow(),
    }


def _render_verification(verification, *, refusal=None, status: int = 200, confirm_form=None):
    return render_template("bedside/verification.html", **_verification_context(
        verification, refusal=refusal, confirm_form=confirm_form)), status


@bp.route("/verifications/<int:verification_id>")
@requires("bedside.verify")
def verification(verification_id: int):
    return _render_verification(service.get_verification(verification_id))


@bp.route("/verifications/<int:verification_id>/confirm", methods=["GET", "POST"])
@requires("bedside.verify")
def confirm(verification_id: int):
    verification = service.get_verification(verification_id)
    form = ConfirmForm()
    if request.method == "GET" or not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return _render_verification(verification, confirm_form=form, status=status)
    try:
        service.confirm(verification, username=form.username.data,
                        password=form.password.data, patient_code=form.wristband.data,
                        bag_code=form.bag.data, by=current_user)
    except service.ChecksFailed as refusal:
        return _render_verification(verification, refusal=refusal, status=refusal.status)
    except DomainError as refused:
        form.password.errors.append(refused.message)
        return _render_verification(verification, confirm_form=form, status=refused.status)
    return redirect(url_for("bedside.verification", verification_id=verification.id))


@bp.route("/verifications/<int:verification_id>/start", methods=["POST"])
@requires("infusion.record")
def start(verification_id: int):
    verification = service.get_verification(verification_id)
    try:
        infusion = service.start_infusion(verification, by=current_user)
    except service.ChecksFailed as refusal:
        return _render_verification(verification, refusal=refusal, status=refusal.status)
    return redirect(url_for("bedside.infusion", infusion_id=infusion.id))


def _infusion_page(record, *, form=None, event_form=None, status: int = 200):
    if form is None:
        form = InfusionRecordForm(formdata=None)
    if event_form is None:
        event_form = AdverseEventForm(formdata=None)
    return render_template(
        "bedside/infusion.html", infusion=record, form=form, event_form=event_form,
        vitals=infusions.vital_rows(record),
        next_dose=infusions.next_dose(record) if record.ended_at else None), status


@bp.route("/infusions/<int:infusion_id>", methods=["GET", "POST"])
@requires("infusion.record")
def infusion(infusion_id: int):
    record = service.get_infusion(infusion_id)
    form = InfusionRecordForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                _end(record, form)
            except DomainError as refused:
                flash(refused.message, "error")
                status = refused.status
            else:
                flash(_("Infusion recorded."), "success")
                return redirect(url_for("bedside.infusion", infusion_id=record.id))
        else:
            status = 400
    return _infusion_page(record, form=form, status=status)


@bp.route("/infusions/<int:infusion_id>/adverse-events", methods=["POST"])
@requires("infusion.record")
def infusion_adverse_event(infusion_id: int):
    """An adverse event seen while the infusion runs or after it ended (SPEC 4.8)."""
    record = service.get_infusion(infusion_id)
    form = AdverseEventForm()
    if not form.validate_on_submit():
        return _infusion_page(record, event_form=form, status=400)
    try:
        entry = _adverse_event_entry(form.event.form)
        if entry is None:
            raise DomainError(_("Name the adverse event by its CTCAE term."))
        infusions.add_adverse_event(record, entry, by=current_user)
    except DomainError as refused:
        flash(refused.message, "error")
        return _infusion_page(record, event_form=form, status=refused.status)
    flash(_("Adverse event recorded."), "success")
    return redirect(url_for("bedside.infusion", infusion_id=record.id))


def _site_time_to_utc(value):
    return None if value is None else value.replace(tzinfo=site_zone()).astimezone(UTC)


def _adverse_event_entry(row) -> AdverseEventEntry | None:
    """A filled row of the form as an entry; None for a blank row."""
    if not (row.term.data or "").strip():
        if row.grade.data or row.serious.data or (row.description.data or "").strip():
            raise DomainError(_("Name the adverse event by its CTCAE term."))
        return None
    if not row.grade.data:
        raise DomainError(_("Give the CTCAE grade of the adverse event."))
    return AdverseEventEntry(term=row.term.data, grade=int(row.grade.data),
                             serious=row.serious.data,
                             onset_at=_site_time_to_utc(row.onset_at.data),
                             description=row.description.data)


def _end(record, form: InfusionRecordForm) -> None:
    events = [entry for entry in (_adverse_event_entry(row.form) for row in form.adverse_events)
              if entry is not None]
    infusions.end_infusion(
        record, by=current_user, outcome=form.outcome.data,
        volume_infused_ml=float(form.volume_infused_ml.data),
        rate_ml_per_h=float(form.rate_ml_per_h.data) if form.rate_ml_per_h.data else None,
        ended_at=_site_time_to_utc(form.ended_at.data), vitals_before=form.vitals("before"),
        vitals_after=form.vitals("after"), premedication=form.premedication.data,
        stop_reason=form.stop_reason.data, notes=form.notes.data, adverse_events=events,
    )


@bp.route("/near-misses")
@requires("nearmiss.read")
def near_misses():
    before = id_arg("before")
    rows = service.near_misses(limit=50, before_id=before)
    return render_template("bedside/near_misses.html", rows=rows,
                           next_before=rows[-1].id if len(rows) == 50 else None)
