"""Printing a label that no reprint replaces: lot, vial, material and location labels (SPEC 4.6).

Fetching a label renders a preview and records nothing; printing is its own action, audited in
the caller's transaction with the format and what the label carries. These labels carry no
issue number (a DIN, a receipt code and a location code stay the same on every copy), so a
second print needs no reason and voids nothing. Who may print is the caller's rule; bag labels,
which a reprint replaces, have their own service (`bagging.printing`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core import audit
from ..extensions import db
from .content import Label
from .render import render

if TYPE_CHECKING:
    from ..auth.models import User


def print_label(label: Label, *, entity: Any, action: str, fmt: str, by: User,
                printed: dict[str, Any]) -> tuple[bytes, str]:
    """Render `label` in `fmt` and audit the print as `action` on `entity`. An unknown format
    is refused before anything is recorded."""
    body, mimetype = render(label, fmt)
    audit.record(db.session, action, entity, actor=by, new={"format": fmt, **printed})
    return body, mimetype
