"""The PostgreSQL role the application serves as, and what it may do (SPEC 5, 6).

The triggers that keep the audit trail append-only hold only against a role that cannot drop
or disable them, and only a table's owner can. So the tables belong to the role that runs the
migrations, and the served application connects as another role that owns nothing: it may
read, insert and update (the triggers still decide which updates), never delete, truncate or
alter. Signed checkpoints are insert-only for it. Run `flask grant-app-role NAME` as the owner
after every `flask db upgrade`, so that new tables are granted too.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

# Tables the application only appends to: no UPDATE for the served role.
INSERT_ONLY = ("audit_checkpoint",)
# Tables whose rows the application removes in the ordinary course (never GMP records): old
# sign-in attempts are pruned as new ones arrive (auth.throttle).
DELETABLE = ("sign_in_attempt",)
# Alembic's bookkeeping: the served app reads the revision, only the owner changes it.
READ_ONLY = ("alembic_version",)

_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def grant_statements(role: str, database: str, tables: list[str]) -> list[str]:
    """The GRANTs and REVOKEs that give `role` exactly the rights above on `tables`."""
    if not _ROLE_NAME.fullmatch(role):
        raise ValueError("a role name is lower-case letters, digits and underscores")
    quoted_db = '"' + database.replace('"', '""') + '"'
    statements = [
        f"GRANT CONNECT ON DATABASE {quoted_db} TO {role}",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"REVOKE CREATE ON SCHEMA public FROM {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
    ]
    for table in sorted(tables):
        statements.append(f'REVOKE ALL ON TABLE "{table}" FROM {role}')
        if table in READ_ONLY:
            rights = "SELECT"
        elif table in INSERT_ONLY:
            rights = "SELECT, INSERT"
        elif table in DELETABLE:
            rights = "SELECT, INSERT, UPDATE, DELETE"
        else:
            rights = "SELECT, INSERT, UPDATE"
        statements.append(f'GRANT {rights} ON TABLE "{table}" TO {role}')
    return statements


def grant_app_role(connection: sa.Connection, role: str, *, password: str | None = None) -> int:
    """Create the role when it is missing (LOGIN, owning nothing) and grant it its rights on
    every table of the schema; returns the number of tables granted. Run as the owner."""
    if connection.dialect.name != "postgresql":
        raise ValueError("only PostgreSQL has roles; SQLite is served by one process owner")
    if not _ROLE_NAME.fullmatch(role):
        raise ValueError("a role name is lower-case letters, digits and underscores")
    exists = connection.scalar(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    if not exists:
        connection.exec_driver_sql(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB "
                                   "NOCREATEROLE NOBYPASSRLS")
    if password:
        literal = "'" + password.replace("'", "''") + "'"  # a utility statement binds nothing
        connection.exec_driver_sql(f"ALTER ROLE {role} PASSWORD {literal}")
    tables = list(connection.scalars(sa.text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")))
    database = connection.scalar(sa.text("SELECT current_database()"))
    for statement in grant_statements(role, database, tables):
        connection.exec_driver_sql(statement)
    return len(tables)
