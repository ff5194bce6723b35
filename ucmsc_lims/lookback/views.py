"""Look-back pages (SPEC 4.9): find the affected set, hold it with QA's signature, and record
per infused patient whether the investigator must be told. Unblinded roles only."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..core.errors import DomainError
from ..core.permissions import requires
from ..navigation import NavEntry
from . import service
from .forms import DecisionForm, HoldForm

bp = Blueprint("lookback", __name__, url_prefix="/lookback")

NAV_ENTRIES = [NavEntry(_l("Look-back"), "lookback.index", "lookback.read")]


@bp.route("/")
@requires("lookback.read")
def index():
    identifier = request.args.get("q", "").strip()
    found, error, status = None, None, 200
    if identifier:
        try:
            found = service.affected(identifier, by=current_user)
        except DomainError as refused:
            error, status = refused.message, refused.status
    form = HoldForm(data={"q": identifier, "username": current_user.username})
    return render_template("lookback/index.html", identifier=identifier, found=found,
                           error=error, form=form,
                           cases=service.list_cases(by=current_user)), status


@bp.route("/hold", methods=["POST"])
@requires("lookback.run")
def hold():
    form = HoldForm()
    identifier = (form.q.data or "").strip()
    if form.validate_on_submit():
        try:
            case = service.hold_affected(identifier, by=current_user,
                                         username=form.username.data,
                                         password=form.password.data, reason=form.reason.data)
        except DomainError as refused:
            error, status = refused.message, refused.status
        else:
            flash(_("Look-back %(number)s opened: %(n)s bags put on hold.",
                    number=case.number, n=case.bags_held), "success")
            return redirect(url_for("lookback.case_page", number=case.number))
    else:
        error, status = _("Give the reason, your username and your password."), 400
    found = None
    try:
        found = service.affected(identifier, by=current_user)
    except DomainError:
        found = None
    return render_template("lookback/index.html", identifier=identifier, found=found,
                           error=error, form=form,
                           cases=service.list_cases(by=current_user)), status


def _case_page(number: str, form: DecisionForm | None = None, status: int = 200,
               error: str | None = None):
    case = service.get_case(number, by=current_user)
    return render_template("lookback/case.html", case=case,
                           infused=service.infused_patients(case, by=current_user),
                           parity=service.parity_bags(case, by=current_user),
                           form=form or DecisionForm(), error=error), status


@bp.route("/<number>")
@requires("lookback.read")
def case_page(number: str):
    return _case_page(number)


@bp.route("/<number>/patients/<subject_id>/decision", methods=["POST"])
@requires("lookback.decide")
def decide(number: str, subject_id: str):
    case = service.get_case(number, by=current_user)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _case_page(number, form, 400, _("Choose yes or no and give the reason."))
    try:
        service.decide(case, subject_id, by=current_user,
                       tell_investigator=form.tell.data == "yes", reason=form.reason.data)
    except DomainError as refused:
        return _case_page(number, form, refused.status, refused.message)
    flash(_("Decision for patient %(s)s recorded.", s=subject_id), "success")
    return redirect(url_for("lookback.case_page", number=case.number))
