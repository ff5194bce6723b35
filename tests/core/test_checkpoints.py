"""Signed checkpoints anchor the audit chain (SPEC 5, 9): whoever bypasses the triggers can
neither cut the chain back nor re-hash it, and a routine check walks only the new entries."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from ucmsc_lims.core import audit, checkpoints
from ucmsc_lims.core.audit import AuditEntry
from ucmsc_lims.core.checkpoints import Anchor, AuditCheckpoint
from ucmsc_lims.core.sealer import seal_pending, sign_checkpoint
from ucmsc_lims.extensions import db as _db

KEY = b"checkpoint-key-of-this-test"


def _write(session, count: int) -> None:
    for number in range(count):
        audit.record(session, "test.noted", ("test_thing", number), new={"number": number})


def _sealed_with_checkpoint(session, anchor: Anchor, count: int = 5) -> AuditCheckpoint:
    _write(session, count)
    audit.seal(session)
    checkpoint = checkpoints.write(session, anchor, force=True)
    assert checkpoint is not None
    return checkpoint


def _bypass(session, engine_kind: str, table: str, *triggers: str) -> None:
    """Lift triggers inside the test's transaction (rolled back with it), as an attacker with
    the owner's rights would."""
    for trigger in triggers:
        if engine_kind == "postgresql":
            session.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
        else:
            session.execute(sa.text(f"DROP TRIGGER {trigger}"))


def _verify(session, anchor: Anchor, *, full: bool = True):
    return checkpoints.verify_trail(session, anchor, full=full,
                                    max_unsealed_age=audit.timedelta(hours=1))


def test_a_checkpoint_signs_the_head_and_both_checks_pass(db):
    anchor = Anchor(KEY, None)
    checkpoint = _sealed_with_checkpoint(db.session, anchor)

    head = db.session.scalar(sa.select(sa.func.max(AuditEntry.chain_seq)))
    assert (checkpoint.chain_seq, checkpoint.key_id) == (head, anchor.key_id)
    assert checkpoints.is_genuine(checkpoint, KEY)
    assert not checkpoints.is_genuine(checkpoint, b"another key")
    assert _verify(db.session, anchor).ok
    assert _verify(db.session, anchor, full=False).ok


def test_a_chain_cut_back_below_its_checkpoint_fails(db, engine_kind):
    anchor = Anchor(KEY, None)
    checkpoint = _sealed_with_checkpoint(db.session, anchor)
    _bypass(db.session, engine_kind, "audit_entry", "audit_entry_no_delete")

    db.session.execute(sa.text("DELETE FROM audit_entry WHERE chain_seq > :keep"),
                       {"keep": checkpoint.chain_seq - 2})

    for full in (True, False):
        result = _verify(db.session, anchor, full=full)
        assert not result.ok
        assert "entries were removed" in result.message or "checkpoint" in result.message


def test_an_entry_edited_and_the_chain_re_hashed_after_it_fails(db, engine_kind):
    anchor = Anchor(KEY, None)
    _sealed_with_checkpoint(db.session, anchor)
    _bypass(db.session, engine_kind, "audit_entry", "audit_entry_no_update")
    rows = list(db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.chain_seq.is_not(None))
        .order_by(AuditEntry.chain_seq)))
    victim = rows[len(rows) // 2]

    # Edit one entry, then recompute every hash after it, as a careful forger would.
    victim.new = '{"number":999}'
    prev = rows[rows.index(victim) - 1].hash if rows.index(victim) else audit.GENESIS_HASH
    for row in rows[rows.index(victim):]:
        row.prev_hash = prev
        row.hash = prev = audit.entry_hash(row, prev)
    db.session.flush()
    assert audit.verify(db.session).ok  # the chain alone no longer shows it

    for full in (True, False):
        result = _verify(db.session, anchor, full=full)
        assert not result.ok
        assert "does not carry the hash the signed checkpoint" in result.message


def test_a_forged_checkpoint_fails(db):
    anchor = Anchor(KEY, None)
    _sealed_with_checkpoint(db.session, anchor)
    _write(db.session, 2)
    audit.seal(db.session)

    checkpoints.write(db.session, Anchor(b"a key the forger made up", None), force=True)

    for full in (True, False):
        result = _verify(db.session, anchor, full=full)
        assert not result.ok
        assert "is not genuine" in result.message


def test_checkpoints_removed_from_the_database_are_found_in_the_log(db, engine_kind,
                                                                    tmp_path: Path):
    anchor = Anchor(KEY, tmp_path / "checkpoints.log")
    first = _sealed_with_checkpoint(db.session, anchor)
    _write(db.session, 3)
    audit.seal(db.session)
    second = checkpoints.write(db.session, anchor, force=True)
    assert second is not None and _verify(db.session, anchor).ok
    _bypass(db.session, engine_kind, "audit_entry", "audit_entry_no_delete")
    _bypass(db.session, engine_kind, "audit_checkpoint", "audit_checkpoint_no_delete")

    # Cut the chain and the checkpoints back together: the database alone is consistent.
    db.session.execute(sa.text("DELETE FROM audit_checkpoint WHERE id = :id"), {"id": second.id})
    db.session.execute(sa.text("DELETE FROM audit_entry WHERE chain_seq > :keep"),
                       {"keep": first.chain_seq})
    db.session.expire_all()
    assert _verify(db.session, Anchor(KEY, None)).ok

    result = _verify(db.session, anchor)
    assert not result.ok
    assert "in the checkpoint log but not in the database" in result.message


def test_checkpoints_cannot_be_changed_or_deleted(db):
    _sealed_with_checkpoint(db.session, Anchor(KEY, None))

    for statement in ("UPDATE audit_checkpoint SET head_hash = 'x'",
                      "DELETE FROM audit_checkpoint"):
        with pytest.raises(sa.exc.DBAPIError) as refusal, db.session.begin_nested():
            db.session.execute(sa.text(statement))
        assert "append-only" in str(refusal.value.orig)


def test_the_routine_check_walks_only_the_entries_since_the_checkpoint(db, engine_kind):
    anchor = Anchor(KEY, None)
    _sealed_with_checkpoint(db.session, anchor)
    _write(db.session, 3)
    audit.seal(db.session)
    _bypass(db.session, engine_kind, "audit_entry", "audit_entry_no_update")
    # An old entry edited in place, its hash left alone: only the full walk recomputes it.
    db.session.execute(sa.text("UPDATE audit_entry SET new = '{}' WHERE chain_seq = 2"))

    assert _verify(db.session, anchor, full=False).ok
    full = _verify(db.session, anchor)
    assert not full.ok and "was changed after it was sealed" in full.message


def test_nothing_new_nothing_signed(db):
    anchor = Anchor(KEY, None)
    _sealed_with_checkpoint(db.session, anchor)

    assert checkpoints.write(db.session, anchor, force=True) is None
    assert not checkpoints.is_due(db.session, anchor)


@pytest.mark.committed
def test_the_sealer_signs_a_checkpoint_once_the_interval_has_passed(committed_app):
    committed_app.config["AUDIT_CHECKPOINT_SECONDS"] = 3600
    with committed_app.app_context():
        _write(_db.session, 2)
        _db.session.commit()
        seal_pending(committed_app)
        first = sign_checkpoint(committed_app)
        _write(_db.session, 2)
        _db.session.commit()
        seal_pending(committed_app)
        too_soon = sign_checkpoint(committed_app)
        forced = committed_app.test_cli_runner().invoke(args=["audit", "checkpoint"])
        quick = committed_app.test_cli_runner().invoke(args=["audit", "verify", "--quick"])
        count = _db.session.scalar(sa.select(sa.func.count()).select_from(AuditCheckpoint))

    assert first is not None and too_soon is None
    assert "signed a checkpoint at chain position" in forced.output
    assert count == 2
    assert quick.exit_code == 0, quick.output
