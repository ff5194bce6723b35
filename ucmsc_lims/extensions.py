"""Flask extensions: created here without an app, bound in create_app."""

from flask import current_app, has_request_context, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy_lite import SQLAlchemy
from flask_wtf import CSRFProtect


def client_address() -> str | None:
    """The address a request came from, or None outside a request (the CLI).

    Behind TRUSTED_PROXIES reverse proxies it is the address the outermost of them saw, as
    it appended it to X-Forwarded-For; without that setting the header is ignored, since any
    client can write it.
    """
    if not has_request_context():
        return None
    hops = current_app.config.get("TRUSTED_PROXIES", 0)
    if hops:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "")
                     .split(",") if part.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops][:64]
    return (request.remote_addr or "unknown")[:64]


def login_limit_in_redis() -> bool:
    """SPEC 6: the login rate limit is counted in Redis when REDIS_URL is set, else in the
    database (auth.throttle); both are shared by every worker and server."""
    return bool(current_app.config.get("REDIS_URL"))


db = SQLAlchemy()
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Limits are declared where they apply (the login form and the token endpoint). Flask-Limiter
# counts them only in Redis: its in-process memory storage would count per worker.
limiter = Limiter(key_func=lambda: client_address() or "local", default_limits=[])
limiter.request_filter(lambda: not login_limit_in_redis())
