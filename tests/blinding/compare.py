"""Masking and comparing what a blinded user reads about an arm-A record and its arm-B twin."""

from __future__ import annotations

import difflib
import io
import json
import re
from collections.abc import Iterator
from urllib.parse import quote

from pypdf import PdfReader

# Times and dates in any of the spellings pages, API and exports use.
_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2} [A-Z][a-z]{2} \d{4}|\d{2}/\d{2}/\d{4}")
_TIME = re.compile(r"\b\d{1,2}:\d{2}(:\d{2})?\b")
# Hashes (signature content, audit chain) and base-32 ids (Crockford, ISBT 128).
_HEX = re.compile(r"\b[0-9a-f]{16,}\b")
_TOKEN = re.compile(r"\b(?=[0-9A-Z]*[0-9])(?=[0-9A-Z]*[A-Z])[0-9A-Z]{8,}\b")
_HEX_COMPACT = re.compile(r"[0-9a-f]{16,}")
_TOKEN_COMPACT = re.compile(r"(?=[0-9A-Z]*[0-9])(?=[0-9A-Z]*[A-Z])[0-9A-Z]{8,}")
_NUMBER = re.compile(r"\d+(\.\d+)?")
# An SVG symbol's geometry encodes the identifiers its text shows.
_SVG_PATH = re.compile(r'\bd="[^"]*"')


def mask(text: str, identifiers: dict[str, str], *, compact: bool = False) -> str:
    """The record's own identifiers become placeholders, then every remaining date, time,
    hash, base-32 id and number becomes one token: what is left must not differ by arm.

    `compact` drops all white space first: a PDF's text layer breaks lines where the glyphs
    run out of room, which differs with the width of the identifiers."""
    if compact:
        # An identifier may be broken across lines; one is never made up from the end of one
        # line and the start of the next (it stands alone, not inside a longer word).
        for ident in sorted(identifiers, key=len, reverse=True):
            broken = r"\s*".join(map(re.escape, ident))
            text = re.sub(rf"(?<![0-9A-Za-z]){broken}(?![0-9A-Za-z])", identifiers[ident],
                          text)
        text = re.sub(r"\s+", "", text)
    text = _replace(text, identifiers)
    text = _SVG_PATH.sub('d="<PATH>"', text)
    text = _ISO_DATETIME.sub("<DATETIME>", text)
    text = _DATE.sub("<DATE>", text)
    text = _TIME.sub("<TIME>", text)
    text = (_HEX_COMPACT if compact else _HEX).sub("<HEX>", text)
    text = (_TOKEN_COMPACT if compact else _TOKEN).sub("<ID>", text)
    return _NUMBER.sub("0", text)


def _replace(text: str, identifiers: dict[str, str]) -> str:
    for ident in sorted(identifiers, key=len, reverse=True):
        placeholder = identifiers[ident]
        text = text.replace(ident, placeholder).replace(quote(ident, safe=""), placeholder)
    return text


def readable(response) -> str | None:
    """The response as text; PDF through its text layer; None for raster images (a PNG label
    is the SVG label rasterised, and the SVG is compared)."""
    mimetype = response.mimetype or ""
    data = response.get_data()
    if mimetype == "application/pdf":
        reader = PdfReader(io.BytesIO(data))
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    if mimetype.startswith("image/") and mimetype != "image/svg+xml":
        return None
    return data.decode("utf-8")


def body_with_location(response) -> str | None:
    text = readable(response)
    if text is None:
        return None
    location = response.headers.get("Location")
    return f"Location: {location}\n{text}" if location else text


def diff(a: str, b: str, *, name_a: str, name_b: str, limit: int = 60) -> str:
    lines = list(difflib.unified_diff(a.splitlines(), b.splitlines(), name_a, name_b,
                                      lineterm="", n=2))
    more = f"\n... {len(lines) - limit} more diff lines" if len(lines) > limit else ""
    return "\n".join(lines[:limit]) + more


# --- rows of lists, for pages that show both arms' records at once ---------------------------

_HTML_ROW = re.compile(r"<(tr|li)\b[^>]*>.*?</\1>", re.S)


def rows(text: str, mimetype: str) -> list[str]:
    """The rows of a list: JSON list items, HTML table rows and list items, or text lines."""
    if mimetype.endswith("json"):
        try:
            data = json.loads(text)
        except ValueError:
            return text.splitlines()
        return [json.dumps(item, sort_keys=True) for item in _json_list_items(data)]
    if "html" in mimetype:
        return [m.group(0) for m in _HTML_ROW.finditer(text)]
    return text.splitlines()


def _json_list_items(data) -> Iterator:
    if isinstance(data, list):
        for item in data:
            yield item
            yield from _json_list_items(item)
    elif isinstance(data, dict):
        for value in data.values():
            yield from _json_list_items(value)


def json_keys(data) -> Iterator[str]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from json_keys(value)
    elif isinstance(data, list):
        for item in data:
            yield from json_keys(item)


def mentions(text: str, identifiers: dict[str, str]) -> bool:
    return any(ident in text for ident in identifiers)
