"""A location's label: its code as Code 128 with the name beneath (SPEC 3), and its print.

The label goes through the one layout every format draws (`labels.layout`), so the preview,
the PDF and the ZPL a thermal printer gets are the same label.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import gettext as _

from ..core.errors import NotPermitted
from ..labels import prints
from ..labels.content import LocationLabel
from ..labels.render import to_svg
from .models import Location

if TYPE_CHECKING:
    from ..auth.models import User


def location_label(location: Location) -> LocationLabel:
    return LocationLabel(code=location.code, name=location.name)


def location_label_svg(location: Location) -> str:
    return to_svg(location_label(location))


def print_location_label(location: Location, *, fmt: str, by: User) -> tuple[bytes, str]:
    """SPEC 4.6: printing is its own audited action (technician or pharmacist); fetching the
    label is a preview and records nothing."""
    if not (by.can("label.print") and by.can("location.read")):
        raise NotPermitted(_("Only a technician or a pharmacist prints location labels."))
    return prints.print_label(location_label(location), entity=location,
                              action="location.label_printed", fmt=fmt, by=by,
                              printed={"code": location.code})
