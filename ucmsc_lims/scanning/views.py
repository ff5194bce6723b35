"""The universal scan box in the page header: jump to whatever was scanned."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request
from flask_login import current_user

from ..core.permissions import requires
from . import service

bp = Blueprint("scanning", __name__)


@bp.route("/scan")
@requires("scan")
def scan():
    code = request.args.get("code", "")
    if not code.strip():
        return render_template("scanning/scan.html", code="", result=None, error=None)
    try:
        result = service.resolve(code, reader=current_user)
    except service.ScanRefused as refused:
        return render_template("scanning/scan.html", code=code, result=None,
                               error=refused.message), 422
    if result.url:
        return redirect(result.url)
    return render_template("scanning/scan.html", code=code, result=result, error=None)
