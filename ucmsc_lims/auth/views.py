"""Sign-in, sign-out and the administrator's user pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..core.db import utcnow
from ..core.errors import DomainError
from ..core.permissions import PUBLIC, SIGNED_IN, requires
from ..extensions import limiter
from . import service
from .forms import (
    ActiveForm,
    CreateUserForm,
    LanguageForm,
    LoginForm,
    ResetPasswordForm,
    RolesForm,
)
from .loaders import SESSION_EPOCH
from .throttle import TooManyAttempts

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths, so a crafted link cannot bounce a user elsewhere."""
    # Browsers read a backslash as a slash, so a path starting "/\" would leave the site too.
    if (target and target.startswith("/") and not target.startswith("//")
            and "\\" not in target and target.isprintable()):
        parts = urlsplit(target)
        if not parts.netloc and not parts.scheme:
            return target
    return url_for("web.home")


@bp.route("/login", methods=["GET", "POST"])
@requires(PUBLIC)
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = service.check_credentials(form.username.data, form.password.data,
                                             purpose="sign_in")
        except TooManyAttempts as refused:
            form.password.errors.append(refused.message)
            return render_template("auth/login.html", form=form), refused.status
        except DomainError as refused:
            form.password.errors.append(refused.message)
            return render_template("auth/login.html", form=form), 401
        session.clear()
        login_user(user)
        session[SESSION_EPOCH] = user.session_epoch
        session["last_seen"] = utcnow().timestamp()
        session["ward"] = (form.ward.data or user.home_ward or "").strip().upper() or None
        service.record_sign_in(user, via="page")
        return redirect(_safe_next(request.args.get("next")))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@requires(SIGNED_IN)
def logout():
    service.sign_out(current_user._get_current_object())
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@requires(SIGNED_IN)
def account():
    form = LanguageForm(data={"language": current_user.language})
    if form.validate_on_submit():
        service.set_language(current_user._get_current_object(), form.language.data)
        flash(_("Saved."), "success")
        return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form)


@bp.route("/admin/users")
@requires("users.manage")
def users():
    return render_template("auth/users.html", users=service.list_users(), form=CreateUserForm())


@bp.route("/admin/users", methods=["POST"])
@requires("users.manage")
def create_user():
    form = CreateUserForm()
    if form.validate_on_submit():
        try:
            user = service.create_user(
                username=form.username.data, full_name=form.full_name.data,
                password=form.password.data, roles=set(form.roles.data),
                home_ward=(form.home_ward.data or None), by=current_user,
            )
        except DomainError as refused:
            flash(refused.message, "error")
            return render_template("auth/users.html", users=service.list_users(),
                                   form=form), refused.status
        flash(_("User %(name)s created.", name=user.username), "success")
        return redirect(url_for("auth.users"))
    return render_template("auth/users.html", users=service.list_users(), form=form), 400


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@requires("users.manage")
def user_detail(user_id: int):
    user = service.get_user(user_id)
    roles_form = RolesForm(prefix="roles", data={"roles": sorted(user.role_names)})
    password_form = ResetPasswordForm(prefix="password")
    active_form = ActiveForm(prefix="active", data={"active": user.active})
    status = 200
    try:
        if roles_form.submit.data and roles_form.validate_on_submit():
            service.set_roles(user, set(roles_form.roles.data), by=current_user,
                              reason=roles_form.reason.data)
            flash(_("Roles saved."), "success")
            return redirect(url_for("auth.user_detail", user_id=user.id))
        if password_form.submit.data and password_form.validate_on_submit():
            service.reset_password(user, password_form.password.data, by=current_user)
            flash(_("Password reset; the account is unlocked."), "success")
            return redirect(url_for("auth.user_detail", user_id=user.id))
        if active_form.submit.data and active_form.validate_on_submit():
            service.set_active(user, active_form.active.data, by=current_user,
                               reason=active_form.reason.data)
            flash(_("Saved."), "success")
            return redirect(url_for("auth.user_detail", user_id=user.id))
        if request.method == "POST":
            status = 400
    except DomainError as refused:
        flash(refused.message, "error")
        status = refused.status
    return render_template("auth/user_detail.html", user=user, roles_form=roles_form,
                           password_form=password_form, active_form=active_form), status
