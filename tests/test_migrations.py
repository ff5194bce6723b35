"""The migrations build exactly the schema the models describe, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ucmsc_lims.core.db import Base
from ucmsc_lims.extensions import db


def _summary(difference) -> str:
    """One line per difference: the operation and the table or column it names."""
    if isinstance(difference, list):  # column modifications come grouped
        return "; ".join(_summary(d) for d in difference)
    operation, *rest = difference
    names = [getattr(item, "name", None) or str(item) for item in rest if item is not None]
    return f"{operation} {' '.join(map(str, names[:3]))}"


def test_migrated_database_matches_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)

    summary = "\n".join(_summary(d) for d in differences)
    assert differences == [], f"the migrations and the models disagree:\n{summary}"
