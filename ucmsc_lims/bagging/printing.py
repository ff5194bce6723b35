"""Blinded bag labels (SPEC 4.6): previews, prints and reprints, the session's label sheet.

Fetching a label renders a preview and changes nothing. Printing is its own audited action; a
reprint needs a reason, gets the next label issue number and so a new code, and voids the
label it replaces, whose code is then refused at every scan.

Every printed label issue keeps the expiry it shows (`printed_expiry`): before the fill, the
print time plus the shelf life (`fill.expiry_after`), which the fill then makes the bag's own
(`fill.bag_expiry`); after the fill, the bag's expiry. So the expiry a person reads on a bag
is never later than the one the bedside enforces, for both arms alike.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app, has_app_context

from ..auth.models import User
from ..core import audit
from ..core.clock import site_zone
from ..core.db import utcnow
from ..core.errors import DomainError, NotPermitted
from ..core.ids import bag_code
from ..extensions import db
from ..labels import render as output
from ..labels.content import BagLabel
from ..labels.render import to_pdf
from ..protocol import service as protocol
from .fill import expiry_after, prepare_bags
from .models import Bag, BagLabelIssue, FillSession
from .states import BEFORE_INFUSING, ON_HOLD, PENDING_FILL

FORMATS = output.FORMATS
# SPEC 4.6: study, sponsor and site on every bag label; a site sets its own in the config.
STUDY_CODE = "UCMSC-LC-01"
SPONSOR = "UCMSC Liver Cirrhosis Study Group (demo sponsor)"
SITE = "Site 01 · Demo University Hospital"
# A label is reprinted only for a bag still on its way to the patient.
REPRINTABLE = frozenset({PENDING_FILL, *BEFORE_INFUSING, ON_HOLD})


def _config(key: str, default: str) -> str:
    return (current_app.config.get(key) if has_app_context() else None) or default


def storage_text() -> str:
    low, high = protocol.value("storage_min_c"), protocol.value("storage_max_c")
    return f"Store at {low:g}–{high:g} °C. Do not freeze."


def _label_expiry(bag: Bag, issue: BagLabelIssue | None) -> datetime:
    """The filled bag's expiry (the one the bedside enforces); before filling, the expiry the
    printed label shows, which the fill makes the bag's; before printing, what a print now
    would show."""
    if bag.expires_at is not None:
        return bag.expires_at
    if issue is not None and issue.printed_expiry is not None:
        return issue.printed_expiry
    return expiry_after(utcnow())


def current_issue(bag: Bag) -> BagLabelIssue:
    return db.session.scalar(sa.select(BagLabelIssue).where(
        BagLabelIssue.bag_id == bag.id, BagLabelIssue.issue == bag.label_issue))


def label_for(bag: Bag, issue: BagLabelIssue | None = None) -> BagLabel:
    """The blinded label: nothing on it can differ by arm except ids and times."""
    issue = issue or current_issue(bag)
    return BagLabel(
        study_code=_config("STUDY_CODE", STUDY_CODE),
        bag_code=bag.code,
        bag_id=bag.bag_id,
        subject_id=bag.subject_id,
        dose_number=bag.dose_number,
        dose_count=int(protocol.value("dose_count")),
        volume_ml=int(bag.volume_ml or protocol.value("bag_volume_ml")),
        expires_at=_label_expiry(bag, issue),
        timezone=site_zone().key,
        sponsor=_config("SPONSOR_NAME", SPONSOR),
        site=_config("SITE_NAME", SITE),
        storage=storage_text(),
    )


def render(label: BagLabel, fmt: str) -> tuple[bytes, str]:
    return output.render(label, fmt)


def preview(bag: Bag, fmt: str) -> tuple[bytes, str]:
    """SPEC 4.6: fetching a label is not a print; nothing is recorded."""
    return render(label_for(bag), fmt)


def _mark_printed(bag: Bag, issue: BagLabelIssue, *, by: User, fmt: str, at: datetime,
                  reason: str | None = None, replaced: BagLabelIssue | None = None) -> None:
    issue.printed_at = at
    issue.printed_by_id = by.id
    issue.print_count += 1
    # What this label shows: a filled bag's own expiry, else the print time + shelf life.
    issue.printed_expiry = bag.expires_at or expiry_after(at)
    new = {"issue": issue.issue, "code": issue.code, "format": fmt}
    if replaced is not None:
        new["voided_code"] = replaced.code
    audit.record(db.session, "bag.label_reprinted" if replaced else "bag.label_printed", bag,
                 actor=by, new=new, reason=reason)


def print_label(bag: Bag, *, fmt: str, by: User, reason: str | None = None,
                at: datetime | None = None) -> tuple[bytes, str]:
    """Print the bag's label. The first print of a label issue needs no reason; printing again
    is a reprint: it needs a reason, voids the current label and issues the next one."""
    if not by.can("label.print"):
        raise NotPermitted("Only a technician or a pharmacist prints labels.")
    if fmt not in FORMATS:
        render(label_for(bag), fmt)  # raises the plain-words format error
    at = at or utcnow()
    issue = current_issue(bag)
    if issue.printed_at is None and issue.voided_at is None:
        _mark_printed(bag, issue, by=by, fmt=fmt, at=at)
        return render(label_for(bag, issue), fmt)
    if bag.status not in REPRINTABLE:
        raise DomainError(f"Bag {bag.bag_id} is {bag.status.replace('_', ' ')}: its label is no "
                          "longer reprinted.")
    if not (reason or "").strip():
        raise DomainError("A reprint needs a reason (the label it replaces is voided).",
                          field_errors={"reason": ["Required for a reprint."]})
    if bag.label_issue >= 99:
        raise DomainError(f"Bag {bag.bag_id} has had 99 labels: no further reprint.")
    issue.voided_at = at
    issue.voided_by_id = by.id
    issue.void_reason = reason.strip()
    bag.label_issue += 1
    bag.code = bag_code(bag.bag_id, bag.label_issue)
    new_issue = BagLabelIssue(bag_id=bag.id, issue=bag.label_issue, code=bag.code)
    # A filled bag is relabelled at the printer; before filling the label waits for its scan.
    if bag.status != PENDING_FILL:
        new_issue.applied_at = at
    db.session.add(new_issue)
    db.session.flush()
    _mark_printed(bag, new_issue, by=by, fmt=fmt, at=at, reason=reason.strip(), replaced=issue)
    return render(label_for(bag, new_issue), fmt)


def print_session_labels(session: FillSession, *, by: User) -> bytes:
    """SPEC 4.5: the session's labels on one A4 sheet, printed before filling: a bag is
    prepared for each cleared due dose, and every label not yet printed is printed."""
    if not by.can("label.print") or not by.can("bag.fill"):
        raise NotPermitted("Only a technician prints the session's labels.")
    prepare_bags(session, by=by)
    at = utcnow()
    rows = unprinted(session)
    if not rows:
        raise DomainError("Every due dose's label is printed already: reprint a single label "
                          "from its bag page.")
    labels = []
    for bag, issue in rows:
        _mark_printed(bag, issue, by=by, fmt="pdf", at=at)
        labels.append(label_for(bag, issue))
    return to_pdf(labels, stock="a4")


def unprinted(session: FillSession) -> list[tuple[Bag, BagLabelIssue]]:
    """The session's prepared bags whose current label has not been printed yet."""
    return [tuple(row) for row in db.session.execute(
        sa.select(Bag, BagLabelIssue)
        .join(BagLabelIssue, (BagLabelIssue.bag_id == Bag.id)
              & (BagLabelIssue.issue == Bag.label_issue))
        .where(Bag.fill_session_id == session.id, Bag.status == PENDING_FILL,
               BagLabelIssue.printed_at.is_(None), BagLabelIssue.voided_at.is_(None))
        .order_by(Bag.bag_id)
    )]
