"""The audit trail page for QA and inspectors, with its chain check."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from ..core import checkpoints
from ..core.clock import site_zone
from ..core.permissions import requires
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


def _next_page(**cursor) -> dict | None:
    """The query of the next page: the same filters with the new page key, or None."""
    if all(value is None for value in cursor.values()):
        return None
    kept = {k: v for k, v in request.args.items() if k not in ("before", "after")}
    return {**kept, **cursor}


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
    if current_user.is_blinded:
        # SPEC 5: no id or chain position for blinded readers (audit.service says why).
        page = service.blinded_page(filters, service.Position.parse(request.args.get("after")))
        return render_template("audit/trail.html", entries=page.entries, filters=filters,
                               first_row=page.first_row, blinded=True,
                               next_args=_next_page(after=page.next.token() if page.next else None))
    entries = service.search(filters, blinded=False, before_id=id_arg("before"))
    next_args = _next_page(before=entries[-1].id if len(entries) == service.PAGE_SIZE else None)
    return render_template("audit/trail.html", entries=entries, filters=filters, blinded=False,
                           next_args=next_args)


@bp.route("/verify")
@requires("audit.verify")
def verify():
    """From the last signed checkpoint by default (SPEC 9: fast at any length); the whole
    chain with `?full=1`."""
    full = request.args.get("full") == "1"
    report = service.check_chain(checkpoints.Anchor.of(current_app),
                                 blinded=current_user.is_blinded, full=full,
                                 max_unsealed_age=current_app.config["AUDIT_SEAL_MAX_AGE"])
    return render_template("audit/verify.html", result=report)
