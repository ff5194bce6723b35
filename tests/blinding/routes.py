"""The route walk of the blinding harness: which GET endpoints a blinded role reaches, and the
URLs to request for each arm's record.

Every URL argument must be filled from `RECORD_ARGUMENTS` (the arm record's own value, so the
endpoint is requested once per arm and the two answers compared) or `PLAIN_ARGUMENTS` (one value
whatever the arm), or the endpoint must be in `SKIPPED` with a reason. A new route with an
argument named nowhere fails the harness, so it cannot slip by unchecked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import product

from flask import Flask
from werkzeug.routing import Rule
from werkzeug.routing.converters import AnyConverter

from tests.factories.custody import WARD
from ucmsc_lims.core.permissions import (
    ADMIN,
    INSPECTOR,
    INVESTIGATOR,
    NURSE,
    PUBLIC,
    SIGNED_IN,
    permissions_for,
    required_permission,
)

from .pair import ArmPair, ArmRecord

BLINDED_USERS = {NURSE: "nurse", INVESTIGATOR: "investigator", INSPECTOR: "inspector",
                 ADMIN: "admin"}

# Endpoints the harness does not request, each with the reason.
SKIPPED = {
    # Flask's static files: the same bytes for everybody.
    "static": "static files",
    # The OpenAPI document describes every schema, the unblinded bag's `arm` and `lot_id`
    # fields included; it holds no record.
    "api-docs.openapi_json": "the API description, no record",
    "api_docs": "the API docs page, no record",
    # Signing in and out is not a read of any record.
    "auth.login": "the sign-in form",
    # The pair makes no deviation, excursion or look-back case: these pages concern lots and
    # shipments, never one bag's arm.
    "qc.deviation": "no deviation is made by the pair fixture",
    "custody.excursion": "no excursion is made by the pair fixture",
    "lookback.case_page": "look-back cases are read by unblinded roles only",
}

# An argument naming the arm record: the endpoint is requested for arm A and for arm B.
# A record the pair did not make (the held pair infuses nothing) gives no value: the endpoint
# is then not requested for either arm.
RECORD_ARGUMENTS: dict[str, Callable[[ArmRecord], list[str]]] = {
    "bag_id": lambda r: [r.bag.bag_id],
    "subject_id": lambda r: [r.patient.subject_id],
    "verification_id": lambda r: [str(r.verification.id)] if r.verification else [],
    "infusion_id": lambda r: [str(r.infusion.id)] if r.infusion else [],
    "request_id": lambda r: [str(r.unblinding.id)] if r.unblinding else [],
    "identifier": lambda r: [r.bag.bag_id, r.bag.code, r.patient.subject_id, r.patient.code],
}

# An argument with one value whatever the arm (by argument name; ENDPOINT_ARGUMENTS first).
PLAIN_ARGUMENTS: dict[str, Callable[[ArmPair], list[str]]] = {
    "number": lambda p: ["1"],  # a dose number in the trial routes
    "week": lambda p: ["12"],  # the first protocol follow-up week
    "lot_id": lambda p: [p.batch.lot_id, p.batch.parent.lot_id],
    "din": lambda p: [p.batch.din],
    "shipment_id": lambda p: [str(p.shipment.id)],
    "user_id": lambda p: [str(p.users["nurse"].id)],
}

# Where one argument name means different things on different endpoints.
ENDPOINT_ARGUMENTS: dict[tuple[str, str], Callable[[ArmPair], list[str]]] = {
    ("donors.donor", "code"): lambda p: [p.batch.collection.donor.code],
    ("custody.location_label", "code"): lambda p: [WARD],
    ("custody.location_label_for_admin", "code"): lambda p: [WARD],
}

# Query strings that make an endpoint read one arm record (requested once per arm).
RECORD_QUERIES: dict[str, Callable[[ArmRecord], list[dict[str, str]]]] = {
    "trace.trace_page": lambda r: [{"q": r.bag.bag_id}, {"q": r.bag.code},
                                   {"q": r.patient.subject_id}, {"q": r.patient.code}],
    "trace.export_trace": lambda r: [{"q": r.bag.bag_id}, {"q": r.patient.subject_id}],
    "scanning.scan": lambda r: [{"code": r.bag.code}, {"code": r.patient.code}],
    "followup.find": lambda r: [{"code": r.patient.code}],
    "bagging.bags": lambda r: [{"patient": r.patient.subject_id}],
    "api_bagging.list_bags": lambda r: [{"patient": r.patient.subject_id}],
    "audit.trail": lambda r: _audit_filters(r),
    "reports.index": lambda r: _audit_filters(r),
    "reports.audit_export": lambda r: _audit_filters(r),
}

# Query strings that read a lot: blinded lot reads end at release (SPEC 4.9, 5).
LOT_QUERIES: dict[str, Callable[[ArmPair], list[dict[str, str]]]] = {
    "trace.trace_page": lambda p: [{"q": p.batch.lot_id}, {"q": p.materials.saline.code}],
    "trace.export_trace": lambda p: [{"q": p.batch.lot_id}, {"q": p.materials.saline.code}],
}

# Endpoints about lots, donors and materials: they may name those (blinded users may read
# lots), and must name no bag or patient.
GMP_BLUEPRINTS = ("manufacturing", "api_lots", "donors", "materials", "qc")
# Pages listing the whole audit trail: lots and materials have entries of their own there.
AUDIT_LISTS = ("audit.trail", "reports.index", "reports.audit_export")


def _audit_filters(r: ArmRecord) -> list[dict[str, str]]:
    filters = [
        {"entity_type": "bag", "entity_id": r.bag.bag_id},
        {"entity_type": "patient", "entity_id": r.patient.subject_id},
        {"entity_type": "dose", "entity_id": f"{r.patient.subject_id}/1"},
    ]
    for kind, record in (("verification", r.verification), ("infusion", r.infusion)):
        if record is not None:
            filters.append({"entity_type": kind, "entity_id": str(record.id)})
    return filters


@dataclass(frozen=True)
class Request:
    endpoint: str
    role: str
    url: str
    kind: str  # "pair" (one URL per arm), "lot" (a lot read) or "plain"
    url_b: str | None = None

    @property
    def is_api(self) -> bool:
        return self.url.startswith("/api/")

    @property
    def is_gmp(self) -> bool:
        return self.kind == "lot" or self.endpoint.split(".")[0] in GMP_BLUEPRINTS


class UnfilledArgument(LookupError):
    pass


def blinded_roles_for(app: Flask, endpoint: str) -> list[str]:
    permission = required_permission(app.view_functions[endpoint])
    if permission in (PUBLIC, SIGNED_IN):
        return list(BLINDED_USERS)
    return [role for role in BLINDED_USERS if permission in permissions_for({role})]


def get_rules(app: Flask) -> list[Rule]:
    return sorted((rule for rule in app.url_map.iter_rules() if "GET" in rule.methods),
                  key=lambda rule: (rule.rule, rule.endpoint))


def unfilled_arguments(app: Flask) -> list[str]:
    """Blinded-reachable endpoints with an argument the harness cannot fill."""
    missing = []
    for rule in get_rules(app):
        if rule.endpoint in SKIPPED or not blinded_roles_for(app, rule.endpoint):
            continue
        for name in sorted(rule.arguments):
            if not _fillable(rule, name):
                missing.append(f"{rule.endpoint} ({rule.rule}): argument '{name}'")
    return missing


def _fillable(rule: Rule, name: str) -> bool:
    return (name in RECORD_ARGUMENTS or (rule.endpoint, name) in ENDPOINT_ARGUMENTS
            or name in PLAIN_ARGUMENTS or isinstance(rule._converters[name], AnyConverter))


def _plain_values(rule: Rule, name: str, pair: ArmPair) -> list[str]:
    converter = rule._converters[name]
    if (rule.endpoint, name) in ENDPOINT_ARGUMENTS:
        return ENDPOINT_ARGUMENTS[rule.endpoint, name](pair)
    if name in PLAIN_ARGUMENTS:
        return PLAIN_ARGUMENTS[name](pair)
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)
    raise UnfilledArgument(
        f"{rule.endpoint} ({rule.rule}) takes '{name}', which the blinding harness cannot "
        "fill: add it to RECORD_ARGUMENTS (a value of the arm record), PLAIN_ARGUMENTS or "
        "ENDPOINT_ARGUMENTS in tests/blinding/routes.py, or to SKIPPED with a reason.")


def _build(rule: Rule, values: dict[str, str], query: dict[str, str] | None = None) -> str:
    path = rule.build(values, append_unknown=False)[1]
    if query:
        from urllib.parse import urlencode

        path = f"{path}?{urlencode(query)}"
    return path


def requests_for(app: Flask, pair: ArmPair) -> list[Request]:
    """Every request the harness makes, for every blinded role that reaches the endpoint."""
    made: list[Request] = []
    for rule in get_rules(app):
        if rule.endpoint in SKIPPED:
            continue
        roles = blinded_roles_for(app, rule.endpoint)
        if not roles:
            continue
        record_args = sorted(n for n in rule.arguments if n in RECORD_ARGUMENTS
                             and (rule.endpoint, n) not in ENDPOINT_ARGUMENTS)
        plain_args = sorted(n for n in rule.arguments if n not in record_args)
        plain_choices = [_plain_values(rule, n, pair) for n in plain_args]
        for plain in product(*plain_choices):
            values = dict(zip(plain_args, plain, strict=True))
            urls: list[tuple[str, str | None, str]] = []
            if record_args:
                # Each argument's values line up by position: arm A's n-th with arm B's n-th.
                per_arm = [[RECORD_ARGUMENTS[n](record) for n in record_args]
                           for record in pair.records]
                for choice in product(*[range(len(v)) for v in per_arm[0]]):
                    url_a, url_b = (
                        _build(rule, {**values, **{name: arm_values[i][c] for i, (name, c)
                                                   in enumerate(zip(record_args, choice,
                                                                    strict=True))}})
                        for arm_values in per_arm)
                    urls.append((url_a, url_b, "pair"))
            else:
                urls.append((_build(rule, values), None, "plain"))
                if rule.endpoint in RECORD_QUERIES:
                    queries = [RECORD_QUERIES[rule.endpoint](r) for r in pair.records]
                    for query_a, query_b in zip(*queries, strict=True):
                        urls.append((_build(rule, values, query_a),
                                     _build(rule, values, query_b), "pair"))
                for query in LOT_QUERIES.get(rule.endpoint, lambda p: [])(pair):
                    urls.append((_build(rule, values, query), None, "lot"))
            for role in roles:
                for url_a, url_b, kind in urls:
                    made.append(Request(rule.endpoint, role, url_a, kind, url_b))
    return made
