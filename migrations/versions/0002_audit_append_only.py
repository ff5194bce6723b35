"""audit trail append-only: triggers refuse DELETE, TRUNCATE and every UPDATE but the seal

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 16:20:00

SPEC 5: the only UPDATE allowed on an audit entry is the one that seals it: hash, previous hash
and chain position set once, from empty, with nothing else changed.
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CONTENT_COLUMNS = (
    "id", "at", "user_id", "username", "action", "entity_type", "entity_id", "old", "new",
    "reason", "request_id", "blinded_visible", "txid",
)

PG_FUNCTION = """
CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
    RAISE EXCEPTION 'audit trail is append-only: % refused', TG_OP;
  END IF;
  IF OLD.hash IS NOT NULL THEN
    RAISE EXCEPTION 'audit trail is append-only: entry % is sealed', OLD.id;
  END IF;
  IF NEW.hash IS NULL OR NEW.prev_hash IS NULL OR NEW.chain_seq IS NULL THEN
    RAISE EXCEPTION 'audit trail is append-only: an update must seal entry %', OLD.id;
  END IF;
  IF ({new}) IS DISTINCT FROM ({old}) THEN
    RAISE EXCEPTION 'audit trail is append-only: entry % content cannot change', OLD.id;
  END IF;
  RETURN NEW;
END
$$;
""".format(
    new=", ".join(f"NEW.{c}" for c in CONTENT_COLUMNS),
    old=", ".join(f"OLD.{c}" for c in CONTENT_COLUMNS),
)

SQLITE_UPDATE_GUARD = """
CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry
WHEN OLD.hash IS NOT NULL OR NEW.hash IS NULL OR NEW.prev_hash IS NULL OR NEW.chain_seq IS NULL
  OR {changed}
BEGIN
  SELECT RAISE(ABORT, 'audit trail is append-only: only sealing an entry once is allowed');
END
""".format(changed=" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in CONTENT_COLUMNS))


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for name, event, level in (
            ("audit_entry_no_update", "UPDATE", "ROW"),
            ("audit_entry_no_delete", "DELETE", "ROW"),
            ("audit_entry_no_truncate", "TRUNCATE", "STATEMENT"),
        ):
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON audit_entry "
                f"FOR EACH {level} EXECUTE FUNCTION audit_entry_append_only()"
            )
    else:
        op.execute(SQLITE_UPDATE_GUARD)
        op.execute(
            "CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry BEGIN "
            "SELECT RAISE(ABORT, 'audit trail is append-only: DELETE refused'); END"
        )


def downgrade():
    for name in ("audit_entry_no_update", "audit_entry_no_delete", "audit_entry_no_truncate"):
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON audit_entry")
        elif name != "audit_entry_no_truncate":
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_entry_append_only()")
