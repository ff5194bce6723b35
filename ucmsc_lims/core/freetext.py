"""Free text that prints on a label: refused at the boundary if it carries markup, printer
commands or control characters (SPEC 4.6, 6).

A site, a ward or location name or a study's name is printed on labels and written into ZPL,
SVG and PDF. `<` and `>` are markup, `^` and `~` start ZPL commands, and control or invisible
characters (Unicode Cc and Cf: NUL, escape, bidi overrides, zero-width spaces) change what a
printer or a reader sees, so two labels could look alike and carry different text. No name
needs them. One rule, `refused`, serves the page forms (`LabelText`) and the API schemas
(`SchemaLabelText`); the label writers still escape whatever is already stored.
"""

from __future__ import annotations

import unicodedata

from flask_babel import gettext as _
from marshmallow import ValidationError as SchemaValidationError
from marshmallow.validate import Validator
from wtforms import Field
from wtforms.validators import ValidationError

MARKUP_AND_PRINTER_COMMANDS = frozenset("<>^~")
CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
# A browser sends a text area's line breaks as CR LF.
LINE_BREAKS = frozenset("\r\n")


def refused(text: str, *, multiline: bool = False) -> bool:
    """Whether the text has a character no printed field may carry."""
    for char in text:
        if char in MARKUP_AND_PRINTER_COMMANDS:
            return True
        if multiline and char in LINE_BREAKS:
            continue
        if unicodedata.category(char) in CONTROL_CATEGORIES:
            return True
    return False


class LabelText:
    """WTForms validator for a field whose text reaches a label."""

    def __init__(self, *, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, form: object, field: Field) -> None:
        if isinstance(field.data, str) and refused(field.data, multiline=self.multiline):
            raise ValidationError(
                _("%(field)s may not contain < > ^ ~ or control characters.",
                  field=field.label.text))


class SchemaLabelText(Validator):
    """marshmallow validator for an API field whose text reaches a label."""

    def __init__(self, *, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, value: str) -> str:
        if isinstance(value, str) and refused(value, multiline=self.multiline):
            raise SchemaValidationError(
                _("This text may not contain < > ^ ~ or control characters."))
        return value
