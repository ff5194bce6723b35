"""Read queries over the audit trail, redacted for blinded readers (SPEC 5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..core.audit import AuditEntry
from ..extensions import db

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilter:
    username: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def filtered(filters: AuditFilter, *, blinded: bool) -> sa.Select:
    """The entries a reader may see that match the filters (SPEC 5: redacted when blinded)."""
    query = sa.select(AuditEntry)
    if blinded:
        query = query.where(AuditEntry.blinded_visible.is_(True))
    if filters.username:
        query = query.where(AuditEntry.username == filters.username)
    if filters.entity_type:
        query = query.where(AuditEntry.entity_type == filters.entity_type)
    if filters.entity_id:
        query = query.where(AuditEntry.entity_id == filters.entity_id)
    if filters.action:
        query = query.where(AuditEntry.action.startswith(filters.action, autoescape=True))
    if filters.since:
        query = query.where(AuditEntry.at >= filters.since)
    if filters.until:
        query = query.where(AuditEntry.at < filters.until)
    return query


def search(
    filters: AuditFilter, *, blinded: bool, before_id: int | None = None, limit: int = PAGE_SIZE
) -> list[AuditEntry]:
    """Newest first, paged by id (keyset), so deep pages cost the same as the first."""
    query = filtered(filters, blinded=blinded)
    if before_id:
        query = query.where(AuditEntry.id < before_id)
    return list(db.session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))
