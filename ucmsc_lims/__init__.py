"""ucmsc-lims: from umbilical-cord donation to the patient's vein, and back."""

from __future__ import annotations

import gc
import hashlib
from pathlib import Path
from typing import Any

from flask import Flask
from whitenoise import WhiteNoise

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    from .config import from_environment

    app.config.from_mapping(from_environment(Path(app.instance_path)))
    if config:
        app.config.from_mapping(config)
    app.config["SQLALCHEMY_ENGINES"] = {"default": _engine_options(app.config["DATABASE_URL"])}
    register_static_files(app)
    register_extensions(app)
    register_blueprints(app)
    register_request_hooks(app)
    register_commands(app)
    return app


def freeze_startup_heap() -> None:
    """Call once the app is loaded in a server process. Python's full garbage collection walks
    every object that has lived long; with the app's ~200,000 start-up objects (modules,
    mappers, schemas, catalogues) each one took 110-135 ms, and a trace or a list page set one
    off every few requests. Frozen, they are skipped: a full collection takes about 4 ms."""
    gc.collect()
    gc.freeze()


def hashed_name(name: str, content: bytes) -> str:
    """`css/app.css` -> `css/app.<12 hex of its SHA-256>.css`: a new content, a new name."""
    stem, dot, suffix = name.rpartition(".")
    digest = hashlib.sha256(content).hexdigest()[:12]
    return f"{stem}.{digest}.{suffix}" if dot else f"{name}.{digest}"


def static_manifest(folder: Path) -> dict[str, str]:
    """Every file under the static folder, by its name, with its content-hashed name."""
    manifest = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            name = path.relative_to(folder).as_posix()
            manifest[name] = hashed_name(name, path.read_bytes())
    return manifest


def register_static_files(app: Flask) -> None:
    """SPEC 9 "What a nurse feels": a page's stylesheet and script come from the browser's
    cache, never over the network again. `url_for('static', filename='css/app.css')` links
    the content-hashed name, which is served as `immutable` for a year and more: a changed
    file gets a new name, so nothing stale is ever kept. WhiteNoise answers these before the
    app, so a static file costs no session, no user lookup and no transaction, and carries
    no `Vary: Cookie` that would keep it out of the cache. The plain names still answer,
    revalidated on every use. An old hashed name no longer on disk falls through to the
    app's 404."""
    folder = Path(app.static_folder)
    prefix = (app.static_url_path or "/static").rstrip("/") + "/"
    manifest = static_manifest(folder)
    immutable = {prefix + hashed for hashed in manifest.values()}
    files = WhiteNoise(
        app.wsgi_app, max_age=0, allow_all_origins=False,
        immutable_file_test=lambda _path, url: url in immutable,
        add_headers_function=_static_headers,
    )
    files.add_files(str(folder), prefix=prefix)
    for name, hashed in manifest.items():
        files.add_file_to_dictionary(prefix + hashed, str(folder / name))
    app.wsgi_app = files  # type: ignore[method-assign]

    @app.url_defaults
    def _hashed_static_url(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and values.get("filename") in manifest:
            values["filename"] = manifest[values["filename"]]


def _static_headers(headers, _path: str, _url: str) -> None:
    # The app's own security headers are not added to what WhiteNoise serves.
    headers["X-Content-Type-Options"] = "nosniff"


def _engine_options(url: str) -> dict[str, Any]:
    options: dict[str, Any] = {"url": url}
    if url.startswith("sqlite"):
        # Wait for the writer rather than fail at once; WAL lets readers run beside it.
        options["connect_args"] = {"timeout": 15}
    else:
        options["pool_pre_ping"] = True
    return options


def register_extensions(app: Flask) -> None:
    from . import models  # noqa: F401  (every table on the metadata before anything queries)
    from .core.sqlite import enable_sqlite_pragmas
    from .extensions import babel, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    _drop_async_session_teardown(app)
    enable_sqlite_pragmas(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    limiter.init_app(app)
    from .i18n import select_locale

    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"

    from .auth.loaders import load_user

    login_manager.user_loader(load_user)


def _drop_async_session_teardown(app: Flask) -> None:
    """Flask-SQLAlchemy-Lite registers a coroutine to close async sessions; Flask runs it
    through asgiref, which starts a thread at the end of every request (about 1 ms each, see
    pallets-eco/flask-sqlalchemy-lite#11). We open no async session, so it has nothing to do."""
    teardowns = app.teardown_appcontext_funcs
    teardowns[:] = [f for f in teardowns if f.__name__ != "_close_async_sessions"]


def register_blueprints(app: Flask) -> None:
    from .api import register_api
    from .domains import domain_modules
    from .web import bp as web_bp

    app.register_blueprint(web_bp)
    for views in domain_modules("views"):
        app.register_blueprint(views.bp)
    register_api(app)


def register_request_hooks(app: Flask) -> None:
    from .web import install_request_hooks

    install_request_hooks(app)


def register_commands(app: Flask) -> None:
    from .cli import register
    from .domains import domain_modules

    register(app)
    for commands in domain_modules("cli"):
        commands.register(app)
