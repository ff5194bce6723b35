"""The audit trail (SPEC 5): written with its change, append-only, hash-chained, verifiable."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import PG_SERVER_URL
from ucmsc_lims.auth import service as accounts
from ucmsc_lims.core import audit
from ucmsc_lims.core.audit import AuditEntry
from ucmsc_lims.core.sealer import seal_pending
from ucmsc_lims.extensions import db as _db


def _entries(session, action: str | None = None) -> list[AuditEntry]:
    query = sa.select(AuditEntry).order_by(AuditEntry.id)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(session.scalars(query))


def _write(session, count: int, *, action: str = "test.noted") -> list[int]:
    for number in range(count):
        audit.record(session, action, ("test_thing", number), new={"number": number})
    return [entry.id for entry in _entries(session, action)]


def _refused(session, statement: str, **params) -> str:
    """Run a statement the triggers must refuse; return the database's message."""
    with pytest.raises(sa.exc.DBAPIError) as refusal, session.begin_nested():
        session.execute(sa.text(statement), params)
    return str(refusal.value.orig)


# -- written with the change it records --------------------------------------------------------


def test_an_entry_records_who_did_what_to_which_record(db, users):
    admin = users["admin"]

    user = accounts.create_user(username="newcomer", full_name="New Comer",
                                password="a-long-password-1", roles={"nurse"}, by=admin)

    entry = _entries(db.session, "user.created")[-1]
    assert (entry.username, entry.user_id) == ("admin", admin.id)
    assert (entry.entity_type, entry.entity_id) == ("user_account", str(user.id))
    assert '"roles":["nurse"]' in entry.new
    assert entry.at.tzinfo is not None
    assert entry.hash is None  # sealed after commit, not by the writer


def test_an_entry_rolls_back_with_the_change_it_records(db, users):
    before = len(_entries(db.session))
    savepoint = db.session.begin_nested()
    accounts.create_user(username="ghost", full_name="Ghost", password="a-long-password-1",
                         roles={"nurse"}, by=users["admin"])
    savepoint.rollback()

    assert accounts.get_user_by_username("ghost") is None
    assert len(_entries(db.session)) == before


def test_an_entry_is_kept_when_its_change_commits(db, users):
    savepoint = db.session.begin_nested()
    accounts.create_user(username="kept", full_name="Kept", password="a-long-password-1",
                         roles={"nurse"}, by=users["admin"])
    savepoint.commit()

    assert accounts.get_user_by_username("kept") is not None
    assert [e.entity_id for e in _entries(db.session, "user.created")][-1] == str(
        accounts.get_user_by_username("kept").id
    )


def test_a_failed_request_leaves_neither_the_change_nor_its_entry(client, login_as, db):
    login_as("admin")
    before = len(_entries(db.session))

    response = client.post("/admin/users", data={
        "username": "mixed", "full_name": "Mixed Roles", "password": "a-long-password-1",
        "roles": ["nurse", "qa"],
    })

    assert response.status_code == 422
    assert "either blinded or unblinded" in response.get_data(as_text=True)
    assert accounts.get_user_by_username("mixed") is None
    assert len(_entries(db.session)) == before


# -- append-only: the triggers -----------------------------------------------------------------


def test_triggers_refuse_to_change_an_unsealed_entry(db):
    [entry_id] = _write(db.session, 1)

    message = _refused(db.session, "UPDATE audit_entry SET reason = 'edited' WHERE id = :id",
                       id=entry_id)

    assert "append-only" in message


def test_triggers_refuse_to_delete_an_entry(db):
    [entry_id] = _write(db.session, 1)

    message = _refused(db.session, "DELETE FROM audit_entry WHERE id = :id", id=entry_id)

    assert "append-only" in message
    assert db.session.get(AuditEntry, entry_id) is not None


def test_triggers_refuse_truncate_on_postgresql(db, engine_kind):
    if engine_kind != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    _write(db.session, 1)

    message = _refused(db.session, "TRUNCATE audit_entry")

    assert "TRUNCATE refused" in message


def test_triggers_allow_exactly_one_sealing_update(db):
    [entry_id] = _write(db.session, 1)

    assert audit.seal(db.session) == 1
    message = _refused(
        db.session, "UPDATE audit_entry SET hash = :h, prev_hash = :h WHERE id = :id",
        h="f" * 64, id=entry_id,
    )

    assert "append-only" in message
    assert audit.seal(db.session) == 0


def test_triggers_refuse_a_seal_that_also_changes_the_content(db):
    [entry_id] = _write(db.session, 1)

    message = _refused(
        db.session,
        "UPDATE audit_entry SET hash = :h, prev_hash = :h, chain_seq = 1, action = 'other' "
        "WHERE id = :id",
        h="e" * 64, id=entry_id,
    )

    assert "append-only" in message


def test_triggers_refuse_a_seal_without_a_chain_position(db):
    [entry_id] = _write(db.session, 1)

    message = _refused(db.session, "UPDATE audit_entry SET hash = :h WHERE id = :id",
                       h="d" * 64, id=entry_id)

    assert "append-only" in message


# -- the chain ---------------------------------------------------------------------------------


def _drop_guard(session, engine_kind: str, trigger: str) -> None:
    """Lift one trigger inside the test's transaction (rolled back with it) to fake tampering."""
    if engine_kind == "postgresql":
        session.execute(sa.text(f"ALTER TABLE audit_entry DISABLE TRIGGER {trigger}"))
    else:
        session.execute(sa.text(f"DROP TRIGGER {trigger}"))


def test_a_sealed_chain_verifies(db):
    _write(db.session, 3)
    audit.seal(db.session)

    result = audit.verify(db.session)

    assert result.ok, result.message
    assert (result.entries, result.sealed, result.unsealed) == (3, 3, 0)
    assert result.message == "3 entries verified"


def test_sealing_follows_insertion_order_and_links_each_entry_to_the_one_before(db):
    ids = _write(db.session, 3)
    audit.seal(db.session)

    entries = [db.session.get(AuditEntry, i) for i in ids]
    assert [e.chain_seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == audit.GENESIS_HASH
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]


def test_verify_reports_recent_unsealed_entries_without_failing(db):
    _write(db.session, 2)
    audit.seal(db.session)
    _write(db.session, 1, action="test.later")

    result = audit.verify(db.session)

    assert result.ok
    assert result.unsealed == 1
    assert "1 recent entries not sealed yet" in result.message


def test_verify_fails_when_an_entry_waits_too_long_to_be_sealed(db):
    [entry_id] = _write(db.session, 1)

    result = audit.verify(db.session, max_unsealed_age=timedelta(seconds=-1))

    assert not result.ok
    assert result.first_bad_seq == entry_id
    assert result.message == f"entry {entry_id} has waited too long to be sealed"


def test_a_changed_sealed_entry_breaks_the_chain_at_that_entry(db, engine_kind):
    ids = _write(db.session, 3)
    audit.seal(db.session)
    _drop_guard(db.session, engine_kind, "audit_entry_no_update")

    db.session.execute(sa.text("UPDATE audit_entry SET reason = 'rewritten' WHERE id = :id"),
                       {"id": ids[1]})
    result = audit.verify(db.session)

    assert not result.ok
    assert result.first_bad_seq == ids[1]
    assert result.message == f"entry {ids[1]} was changed after it was sealed"


def test_a_deleted_entry_leaves_a_gap_the_check_finds(db, engine_kind):
    ids = _write(db.session, 3)
    audit.seal(db.session)
    _drop_guard(db.session, engine_kind, "audit_entry_no_delete")

    db.session.execute(sa.text("DELETE FROM audit_entry WHERE id = :id"), {"id": ids[1]})
    result = audit.verify(db.session)

    assert not result.ok
    assert result.first_bad_seq == ids[2]
    assert result.message == f"entry {ids[2]} is at chain position 3, expected 2"


def test_flask_audit_verify_exits_non_zero_on_a_broken_chain(committed_app):
    with committed_app.app_context():
        _write(_db.session, 3)
        _db.session.commit()
        seal_pending(committed_app)
        ok = committed_app.test_cli_runner().invoke(args=["audit", "verify"])
        victim = _entries(_db.session)[1].id
        if _db.engine.dialect.name == "postgresql":
            _db.session.execute(sa.text(
                "ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_update"))
        else:
            _db.session.execute(sa.text("DROP TRIGGER audit_entry_no_update"))
        _db.session.execute(sa.text("UPDATE audit_entry SET new = '{}' WHERE id = :id"),
                            {"id": victim})
        _db.session.commit()

        broken = committed_app.test_cli_runner().invoke(args=["audit", "verify"])

    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("OK: 3 entries verified")
    assert broken.exit_code == 1
    assert f"BROKEN: entry {victim} was changed after it was sealed" in broken.output
    assert f"first bad entry: {victim}" in broken.output


# -- the API and page that check the chain -----------------------------------------------------


def test_qa_reads_a_sound_chain_from_the_api(api_client, db):
    qa = api_client("qa")
    audit.seal(db.session)

    response = qa.get("/api/v1/audit/verify")

    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] is True
    assert body["first_bad_seq"] is None
    assert body["entries"] >= 8  # at least the demo users' creation


def test_a_nurse_may_not_verify_the_chain_through_the_api(api_client):
    response = api_client("nurse").get("/api/v1/audit/verify")

    assert response.status_code == 403
    assert response.get_json()["detail"] == "Your role does not allow this."


def test_the_inspector_sees_the_chain_check_page(client, login_as):
    login_as("inspector")

    response = client.get("/audit/verify")

    assert response.status_code == 200


def test_a_blinded_reader_does_not_see_entries_kept_from_blinded_users(client, login_as, db,
                                                                       users):
    audit.record(db.session, "test.arm_link", ("bag", "B-1"), new={"arm": "A"},
                 actor=users["pharmacist"], blinded_visible=False)
    audit.record(db.session, "test.plain", ("bag", "B-1"), new={"status": "received"},
                 actor=users["pharmacist"])
    login_as("inspector")

    page = client.get("/audit/?entity_type=bag").get_data(as_text=True)

    assert "test.plain" in page
    assert "test.arm_link" not in page


# -- concurrency on PostgreSQL -----------------------------------------------------------------


def _write_while_sealing(app, *, writers: int, per_writer: int, sealers: int) -> list[int]:
    """`writers` threads commit entries while `sealers` threads seal them, then everything left
    is sealed; returns how many entries each sealing round sealed."""
    sealed_counts: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def write(number: int) -> None:
        try:
            with app.app_context():
                for i in range(per_writer):
                    audit.record(_db.session, "test.concurrent", ("writer", number),
                                 new={"i": i})
                    _db.session.commit()
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)

    def seal_while_writing() -> None:
        try:
            while not done.is_set():
                sealed_counts.append(seal_pending(app))
        except BaseException as error:
            errors.append(error)

    sealing = [threading.Thread(target=seal_while_writing) for _ in range(sealers)]
    writing = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in sealing + writing:
        thread.start()
    for thread in writing:
        thread.join()
    done.set()
    for thread in sealing:
        thread.join()
    while sealed := seal_pending(app):
        sealed_counts.append(sealed)
    assert errors == []
    return sealed_counts


def _chain_positions(app) -> tuple[audit.Verification, list[int]]:
    with app.app_context():
        return audit.verify(_db.session), _db.session.scalars(
            sa.select(AuditEntry.chain_seq).order_by(AuditEntry.chain_seq)).all()


@pytest.mark.committed
def test_concurrent_writers_and_a_sealer_keep_one_linear_chain(committed_app):
    with committed_app.app_context():
        if _db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time; the race exists on PostgreSQL")
    sealed_counts = _write_while_sealing(committed_app, writers=4, per_writer=25, sealers=1)

    result, seqs = _chain_positions(committed_app)
    assert result.ok, result.message
    assert (result.entries, result.unsealed) == (100, 0)
    assert seqs == list(range(1, 101))
    assert sum(sealed_counts) == 100  # each entry sealed once, none twice


@pytest.mark.committed
def test_two_sealers_racing_while_entries_arrive_keep_one_gapless_chain(committed_app):
    """Each gunicorn worker runs a sealer: two of them read the same unsealed entries, and the
    one that loses the race must not number entries after the other's head (SPEC 5)."""
    sealed_counts = _write_while_sealing(committed_app, writers=3, per_writer=60, sealers=2)

    result, seqs = _chain_positions(committed_app)
    assert result.ok, result.message
    assert seqs == list(range(1, 181))
    assert sum(sealed_counts) == 180


@pytest.mark.committed
def test_the_sealer_never_passes_an_open_transaction(committed_app):
    with committed_app.app_context():
        if _db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite serialises writers, so no entry is open while another commits")
        early, open_tx, later = (_db.sessionmaker() for _ in range(3))
        try:
            audit.record(early, "test.early", ("thing", 1))
            early.commit()
            audit.record(open_tx, "test.open", ("thing", 2))
            open_tx.flush()
            audit.record(later, "test.later", ("thing", 3))
            later.commit()

            seal_pending(committed_app)
            seen = {e.action: e for e in _entries(early)}  # committed entries only
            head = max(e.chain_seq for e in seen.values() if e.chain_seq is not None)
            still_open = open_tx.scalar(
                sa.select(AuditEntry.hash).where(AuditEntry.action == "test.open"))
            early.rollback()

            assert seen["test.early"].chain_seq == 1
            assert "test.open" not in seen
            assert still_open is None

            open_tx.commit()
            seal_pending(committed_app)
            sealed = {e.action: e for e in _entries(early)}
        finally:
            for session in (early, open_tx, later):
                session.close()

        assert sealed["test.open"].chain_seq == head + 1
        assert all(e.hash is not None for e in sealed.values())
        assert audit.verify(_db.session).ok


@pytest.mark.committed
def test_an_open_transaction_on_another_database_does_not_hold_the_sealer_back(committed_app):
    with committed_app.app_context():
        if _db.engine.dialect.name != "postgresql":
            pytest.skip("only PostgreSQL serves several databases from one server")
    elsewhere = sa.create_engine(PG_SERVER_URL)
    try:
        with elsewhere.connect() as other:
            other.execute(sa.text("SELECT pg_current_xact_id()"))  # an id held open there
            with committed_app.app_context():
                audit.record(_db.session, "test.here", ("thing", 1))
                _db.session.commit()
            sealed = seal_pending(committed_app)
            other.rollback()
    finally:
        elsewhere.dispose()

    assert sealed == 1

