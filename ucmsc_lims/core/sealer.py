"""A background sealer: hashes committed audit entries onto the chain every fraction of a second,
and signs a checkpoint of the chain every minute or so (core.checkpoints).

Each gunicorn worker runs one; sealers serialise on the database (see core.audit.seal), so any
number of them across processes and hosts keep one linear chain.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from ..extensions import db
from . import audit, checkpoints
from .sqlite import read_only

log = logging.getLogger(__name__)


def seal_pending(app: Flask) -> int:
    """Seal everything committed so far; returns the number of entries sealed."""
    total = 0
    with app.app_context():
        session = db.sessionmaker()
        try:
            while True:
                if not _work_waiting(session):
                    return total
                try:
                    sealed = audit.seal(session)
                    session.commit()
                except (IntegrityError, DBAPIError, audit.SealRaced):
                    # Another sealer got there first; the next round picks up.
                    session.rollback()
                    return total
                total += sealed
                if sealed == 0:
                    return total
        finally:
            session.close()


def _work_waiting(session: Session) -> bool:
    """Look for unsealed entries in a transaction that only reads, so an idle round takes no
    write lock on SQLite."""
    with read_only():
        waiting = audit.has_unsealed(session)
    session.rollback()
    return waiting


def sign_checkpoint(app: Flask, *, force: bool = False) -> int | None:
    """Sign the chain's head when a checkpoint is due (core.checkpoints); returns the chain
    position signed, or None."""
    anchor = checkpoints.Anchor.of(app)
    with app.app_context():
        session = db.sessionmaker()
        try:
            if not force and not _checkpoint_due(session, anchor):
                return None
            try:
                checkpoint = checkpoints.write(session, anchor, force=force)
                signed = checkpoint.chain_seq if checkpoint else None
                session.commit()
            except (IntegrityError, DBAPIError):
                session.rollback()  # another server signed this head first
                return None
            return signed
        finally:
            session.close()


def _checkpoint_due(session: Session, anchor: checkpoints.Anchor) -> bool:
    with read_only():
        due = checkpoints.is_due(session, anchor)
    session.rollback()
    return due


def start_sealer_thread(app: Flask) -> threading.Thread:
    interval = app.config["AUDIT_SEALER_INTERVAL"]
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval):
            try:
                seal_pending(app)
                sign_checkpoint(app)
            except Exception:  # a sealer must outlive a passing database fault
                log.exception("audit sealer round failed")

    thread = threading.Thread(target=run, name="audit-sealer", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread
