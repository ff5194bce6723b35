"""The domain packages, upstream first. Each may hold `models.py`, `views.py` (a blueprint `bp`),
`api.py` (a flask-smorest blueprint `blp`), `cli.py` (a `register(app)`) and `demo.py`
(`seed(users)` and `refresh_today(users)`); create_app picks up whichever exist."""

from __future__ import annotations

import importlib
from importlib.util import find_spec
from types import ModuleType

DOMAINS = (
    "auth", "protocol", "audit", "donors", "materials", "manufacturing", "qc", "trial",
    "bagging", "labels", "custody", "bedside", "scanning", "trace", "lookback", "followup",
    "reports", "scale",
)


def domain_modules(kind: str) -> list[ModuleType]:
    """The `ucmsc_lims.<domain>.<kind>` modules that exist, in domain order."""
    found = []
    for domain in DOMAINS:
        name = f"ucmsc_lims.{domain}.{kind}"
        if find_spec(f"ucmsc_lims.{domain}") and find_spec(name):
            found.append(importlib.import_module(name))
    return found
