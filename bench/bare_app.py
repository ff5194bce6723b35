"""A bare Flask app on the bench database: the ceiling the product's bedside endpoint is
compared with (SPEC 9). Not part of the product.

- `POST /bare/write`: authenticates the bearer token the same way the product does (SHA-256
  digest looked up in `api_token`, expiry, revocation and the account checked), reads one row
  (the patient named in the body) and inserts one row, in one transaction.
- `GET /bare/lookup/<code>`: one indexed lookup, no authentication.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, abort, jsonify, request

metadata = sa.MetaData()
bench_write = sa.Table(
    "bench_write", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("patient_id", sa.Integer, nullable=False),
)


def _engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        # The product's own connection settings, so both write to the same database alike.
        from ucmsc_lims.core.sqlite import configure_engine

        engine = sa.create_engine(url, connect_args={"timeout": 15})
        configure_engine(engine)
        return engine
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1),
                            pool_pre_ping=True)


def create_table(url: str) -> None:
    """Run once before the workers start (two workers creating it at once would race)."""
    engine = _engine(url)
    metadata.create_all(engine)
    engine.dispose()


def create_app(url: str | None = None) -> Flask:
    app = Flask(__name__)
    engine = _engine(url or os.environ["DATABASE_URL"])
    sqlite = engine.dialect.name == "sqlite"

    def user_of_token() -> int:
        scheme, _, raw = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not raw:
            abort(401)
        return hashlib.sha256(raw.strip().encode()).hexdigest()

    @app.post("/bare/write")
    def write():
        digest = user_of_token()
        body = request.get_json(force=True)
        now = datetime.now(UTC)
        stamp = now.replace(tzinfo=None) if sqlite else now
        with engine.begin() as conn:
            token = conn.execute(sa.text(
                "SELECT t.user_id FROM api_token t JOIN user_account u ON u.id = t.user_id "
                "WHERE t.digest = :d AND t.revoked_at IS NULL AND t.expires_at > :now "
                "AND u.active AND (u.locked_until IS NULL OR u.locked_until <= :now)"),
                {"d": digest, "now": stamp}).first()
            if token is None:
                abort(401)
            patient = conn.execute(sa.text("SELECT id FROM patient WHERE code = :c"),
                                   {"c": body["patient_code"]}).first()
            if patient is None:
                abort(404)
            conn.execute(bench_write.insert().values(at=now, user_id=token.user_id,
                                                     patient_id=patient.id))
        return jsonify({"ok": True})

    @app.get("/bare/lookup/<code>")
    def lookup(code: str):
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT id, subject_id FROM patient WHERE code = :c"),
                               {"c": code}).first()
        if row is None:
            abort(404)
        return jsonify({"id": row.id, "subject_id": row.subject_id})

    return app


app = create_app() if os.environ.get("DATABASE_URL") else None
