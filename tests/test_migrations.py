"""The migrations build exactly the schema the models describe, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from ucmsc_lims import PROJECT_ROOT
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


def test_the_migrations_form_one_line():
    """One head: each revision follows the one before, so every database upgrades alike."""
    config = Config(str(PROJECT_ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    script = ScriptDirectory.from_config(config)

    assert script.get_heads() == [script.get_current_head()]
    assert not any(r.is_branch_point for r in script.walk_revisions())
