"""Reports for QA, the pharmacist and inspectors: the index, the audit trail exports with the
chain verification, and the inspector grants."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from ..audit import service as audit_trail
from ..audit.service import AuditFilter
from ..audit.views import _date_arg
from ..auth.service import get_user_by_username
from ..core import checkpoints
from ..core.clock import site_zone
from ..core.db import utcnow
from ..core.errors import DomainError
from ..core.permissions import requires
from ..navigation import NavEntry
from . import inspection, service
from .forms import CosignForm, GrantForm, RevokeForm

bp = Blueprint("reports", __name__, url_prefix="/reports")

NAV_ENTRIES = [NavEntry(_l("Reports"), "reports.index", "report.read"),
               NavEntry(_l("Inspection access"), "reports.grants", "inspector_grant.grant")]


@bp.route("/")
@requires("report.read")
def index():
    return render_template("reports/index.html")


def _filters() -> AuditFilter:
    return AuditFilter(
        username=request.args.get("user") or None,
        entity_type=request.args.get("entity_type") or None,
        entity_id=request.args.get("entity_id") or None,
        action=request.args.get("action") or None,
        since=_date_arg("since"),
        until=_date_arg("until", end=True),
    )


@bp.route("/audit.<any(csv, pdf):fmt>")
@requires("audit.read")
def audit_export(fmt: str):
    blinded = current_user.is_blinded
    entries = service.export_entries(_filters(), blinded=blinded)
    report = audit_trail.check_chain(
        checkpoints.Anchor.of(current_app), blinded=blinded, full=False,
        max_unsealed_age=current_app.config["AUDIT_SEAL_MAX_AGE"])
    now = utcnow()
    if fmt == "csv":
        body: str | bytes = service.audit_csv(entries, report, now, blinded=blinded)
        mimetype = "text/csv; charset=utf-8"
    else:
        body = service.audit_pdf(entries, report, reader_name=current_user.full_name,
                                 blinded=blinded, generated_at=now)
        mimetype = "application/pdf"
    stamp = now.astimezone(site_zone()).strftime("%Y%m%d-%H%M")
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="audit-trail-{stamp}.{fmt}"'})


# --- inspector grants (SPEC 2) -------------------------------------------------------------------


def _grant_form() -> GrantForm:
    form = GrantForm()
    form.inspector.choices = [SelectChoice(u.username, f"{u.full_name} ({u.username})")
                              for u in inspection.inspectors()]
    return form


def _grants_page(form: GrantForm | None = None, status: int = 200, error: str | None = None):
    if not inspection.may_view(current_user):
        abort(403)
    return render_template("reports/grants.html", grants=inspection.list_grants(by=current_user),
                           form=form or _grant_form(), cosign_form=CosignForm(),
                           revoke_form=RevokeForm(), now=utcnow(), error=error), status


@bp.route("/inspection-grants")
@requires("inspector_grant.read")
def grants():
    return _grants_page()


@bp.route("/inspection-grants", methods=["POST"])
@requires("inspector_grant.grant")
def grant():
    form = _grant_form()
    if not form.validate_on_submit():
        return _grants_page(form, 400, _("Choose the inspector, the period and the reason."))
    inspector = get_user_by_username(form.inspector.data)
    if inspector is None:
        return _grants_page(form, 404, _("No such inspector."))
    zone = site_zone()
    try:
        inspection.grant_inspection(
            inspector, by=current_user, reason=form.reason.data,
            starts_at=form.starts_at.data.replace(tzinfo=zone),
            ends_at=form.ends_at.data.replace(tzinfo=zone))
    except DomainError as refused:
        return _grants_page(form, refused.status, refused.message)
    flash(_("Inspection access granted; it is in force once QA co-signs it."), "success")
    return redirect(url_for("reports.grants"))


@bp.route("/inspection-grants/<int:grant_id>/cosign", methods=["POST"])
@requires("inspector_grant.cosign")
def cosign(grant_id: int):
    record = inspection.get_grant(grant_id)
    form = CosignForm()
    if not form.validate_on_submit():
        return _grants_page(status=400, error=_("Enter your password to sign."))
    try:
        inspection.cosign(record, by=current_user, password=form.password.data)
    except DomainError as refused:
        return _grants_page(status=refused.status, error=refused.message)
    flash(_("Inspector grant co-signed."), "success")
    return redirect(url_for("reports.grants"))


@bp.route("/inspection-grants/<int:grant_id>/revoke", methods=["POST"])
@requires("inspector_grant.revoke")
def revoke(grant_id: int):
    record = inspection.get_grant(grant_id)
    form = RevokeForm()
    if not form.validate_on_submit():
        return _grants_page(status=400, error=_("Give the reason for revoking."))
    try:
        inspection.revoke(record, by=current_user, reason=form.reason.data)
    except DomainError as refused:
        return _grants_page(status=refused.status, error=refused.message)
    flash(_("Inspector grant revoked."), "success")
    return redirect(url_for("reports.grants"))
