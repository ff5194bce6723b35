"""The Chinese catalog compiled before the page tests read it (as `make test` does at install)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from ucmsc_lims import PROJECT_ROOT

TRANSLATIONS = PROJECT_ROOT / "translations"
CATALOG = TRANSLATIONS / "zh_Hans" / "LC_MESSAGES" / "messages.po"


def read_catalog(path: Path = CATALOG):
    with path.open("rb") as f:
        return read_po(f, locale="zh_Hans")


@pytest.fixture(scope="session", autouse=True)
def compiled_catalog() -> Path:
    """Compile messages.po when its .mo is missing or older, atomically (xdist workers race)."""
    compiled = CATALOG.with_suffix(".mo")
    if not compiled.exists() or compiled.stat().st_mtime < CATALOG.stat().st_mtime:
        fd, tmp = tempfile.mkstemp(dir=compiled.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as f:
            write_mo(f, read_catalog())
        os.replace(tmp, compiled)
    return compiled
