"""Alembic environment: the app's engine and the complete metadata of ucmsc_lims.models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from flask import current_app

from ucmsc_lims import models  # noqa: F401  (registers every table)
from ucmsc_lims.core.db import Base, UTCDateTime
from ucmsc_lims.extensions import db

target_metadata = Base.metadata


def render_item(type_, obj, autogen_context):
    """Write our UTC column type as the plain timezone-aware DateTime it stores."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with db.engine.connect() as connection:
        _run(connection)
        connection.commit()


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; run `flask db upgrade`.")
run_migrations_online()
_ = current_app  # env.py runs inside the Flask app context that `flask db` provides
