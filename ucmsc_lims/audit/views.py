"""The audit trail page for QA and inspectors, with its chain check."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from ..core import audit
from ..core.clock import site_zone
from ..core.permissions import requires
from ..extensions import db
from ..web import id_arg
from . import service

bp = Blueprint("audit", __name__, url_prefix="/audit")


def _date_arg(name: str, *, end: bool = False) -> datetime | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        return None
    start = datetime.combine(day, time.min, tzinfo=site_zone())
    return start + timedelta(days=1) if end else start


@bp.route("/")
@requires("audit.read")
def trail():
    filters = service.AuditFilter(
        username=request.args.get("user") or None,
        entity_type=request.args.get("entity_type") or None,
        entity_id=request.args.get("entity_id") or None,
        action=request.args.get("action") or None,
        since=_date_arg("since"),
        until=_date_arg("until", end=True),
    )
    before = id_arg("before")
    entries = service.search(filters, blinded=current_user.is_blinded, before_id=before)
    next_before = entries[-1].id if len(entries) == service.PAGE_SIZE else None
    return render_template("audit/trail.html", entries=entries, filters=filters,
                           next_before=next_before)


@bp.route("/verify")
@requires("audit.verify")
def verify():
    result = audit.verify(db.session, max_unsealed_age=current_app.config["AUDIT_SEAL_MAX_AGE"])
    return render_template("audit/verify.html", result=result)
