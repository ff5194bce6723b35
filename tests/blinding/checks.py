"""The walk of the blinding harness and its checks; each check returns the problems it found,
in words that say which request, which role and what differs."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .compare import body_with_location, diff, json_keys, mask, mentions, readable, rows
from .pair import ArmPair
from .routes import AUDIT_LISTS, BLINDED_USERS, Request, requests_for

# JSON keys that name the arm or what is in the bag: never in a blinded answer about bags and
# patients (a lot read names its own `lot_id`).
ARM_KEYS = {"arm", "lot_id", "lot", "cells", "cells_per_ml", "source", "source_material",
            "batch", "donor"}


@dataclass
class Fetched:
    request: Request
    a: object
    b: object | None

    @property
    def label(self) -> str:
        r = self.request
        return f"{r.role} GET {r.url}" + (f" / {r.url_b}" if r.url_b else "")


def walk(app, pair: ArmPair, signed_in) -> list[Fetched]:
    answers = []
    for request in requests_for(app, pair):
        page, api = signed_in(BLINDED_USERS[request.role])
        client = api if request.is_api else page
        # Pages follow redirects, so a flash message is read where it is shown (and never
        # left over for the next request).
        follow = not request.is_api
        a = client.get(request.url, follow_redirects=follow)
        b = client.get(request.url_b, follow_redirects=follow) if request.url_b else None
        answers.append(Fetched(request, a, b))
    return answers


def paired_differences(fetched: list[Fetched], pair: ArmPair) -> list[str]:
    """The same request for arm A's record and arm B's: same status, same type, and the same
    body once masked."""
    ids_a, ids_b = pair.a.identifiers(), pair.b.identifiers()
    problems = []
    for f in fetched:
        if f.b is None:
            continue
        if f.a.status_code != f.b.status_code:
            problems.append(f"{f.label}: status {f.a.status_code} for arm A, "
                            f"{f.b.status_code} for arm B")
            continue
        if f.a.mimetype != f.b.mimetype:
            problems.append(f"{f.label}: {f.a.mimetype} for arm A, {f.b.mimetype} for arm B")
            continue
        text_a, text_b = body_with_location(f.a), body_with_location(f.b)
        if text_a is None:
            # A raster image (the PNG label): its SVG twin is compared as text.
            if len(f.a.get_data()) == 0 or len(f.b.get_data()) == 0:
                problems.append(f"{f.label}: an empty image")
            continue
        pdf = f.a.mimetype == "application/pdf"
        if mask(text_a, ids_a, compact=pdf) != mask(text_b, ids_b, compact=pdf):
            problems.append(f"{f.label} differs by arm:\n" + diff(
                mask(text_a, ids_a), mask(text_b, ids_b), name_a="arm A", name_b="arm B"))
    return problems


def row_differences(fetched: list[Fetched], pair: ArmPair) -> list[str]:
    """Lists that show both records (bag and patient lists, shipments, worklists, exports):
    the rows naming arm A's record and those naming arm B's read the same once masked.

    Not the whole audit trail (a page of the newest entries, so arm B's newer entries push
    arm A's out; each record's filtered trail is compared as a pair), and not PDFs (their text
    layer breaks rows; the CSV of the same export is compared).
    """
    ids_a, ids_b = pair.a.identifiers(), pair.b.identifiers()
    problems = []
    for f in fetched:
        if (f.b is not None or f.a.status_code != 200 or f.request.is_gmp
                or f.request.endpoint in AUDIT_LISTS or f.a.mimetype == "application/pdf"):
            continue
        text = readable(f.a)
        if text is None:
            continue
        found = rows(text, f.a.mimetype)
        rows_a = sorted(mask(r, ids_a) for r in found
                        if mentions(r, ids_a) and not mentions(r, ids_b))
        rows_b = sorted(mask(r, ids_b) for r in found
                        if mentions(r, ids_b) and not mentions(r, ids_a))
        if rows_a != rows_b:
            problems.append(f"{f.label}: rows differ by arm:\n" + diff(
                "\n".join(rows_a), "\n".join(rows_b), name_a="arm A rows", name_b="arm B rows"))
    return problems


def lot_values(pair: ArmPair) -> dict[str, str]:
    """What names the content of a cell bag: its batch, cell bank, donation, donor and the
    material lots of the fill."""
    batch = pair.batch
    values = {
        batch.lot_id: "product batch lot id", batch.parent.lot_id: "cell bank lot id",
        batch.din: "DIN", batch.collection.donor.code: "donor code",
    }
    for name in ("saline", "acd", "heparin", "container"):
        values[getattr(pair.materials, name).code] = f"{name} material lot code"
    return values


def lot_or_arm_named(fetched: list[Fetched], pair: ArmPair) -> list[str]:
    """Outside the lot, donor and material reads (blinded users may read those, SPEC 2), no
    blinded answer contains the arm-A bag's batch or cell bank lot id, its DIN, its donor's
    code or a material lot code of the fill, and no JSON answer has a key in ARM_KEYS. In the
    audit trail lists, which name lots in entries of their own, no row that names a bag or
    patient of the pair contains one of those values."""
    forbidden = lot_values(pair)
    ids = {**pair.a.identifiers(), **pair.b.identifiers()}
    problems = []
    for f in fetched:
        if f.request.is_gmp:
            continue
        for response, url in ((f.a, f.request.url), (f.b, f.request.url_b)):
            if response is None or response.status_code >= 400:
                continue
            text = readable(response)
            if text is None:
                continue
            texts = ([r for r in rows(text, response.mimetype) if mentions(r, ids)]
                     if f.request.endpoint in AUDIT_LISTS else [text])
            for value, what in forbidden.items():
                if any(value in t for t in texts):
                    problems.append(f"{f.request.role} GET {url} shows the {what} {value}")
            if response.mimetype.endswith("json"):
                keys = set(json_keys(json.loads(text))) & ARM_KEYS
                if keys:
                    problems.append(f"{f.request.role} GET {url} has the keys {sorted(keys)}")
    return problems


def bags_named_in_lot_reads(fetched: list[Fetched], pair: ArmPair) -> list[str]:
    """SPEC 4.9, 5: a blinded user's lot, batch record, donor, material and lot trace reads
    name no bag and no patient of the pair."""
    ids = {**pair.a.identifiers(), **pair.b.identifiers()}
    problems = []
    for f in fetched:
        if not f.request.is_gmp or f.a.status_code != 200:
            continue
        text = readable(f.a)
        if text is None:
            continue
        named = sorted({ident for ident in ids if ident in text})
        if named:
            problems.append(f"{f.label} names {named}")
    return problems


CHECKS = {
    "answers for arm A's and arm B's record differ": paired_differences,
    "list rows differ by arm": row_differences,
    "lot, donor, material or arm field shown": lot_or_arm_named,
    "bags or patients named in a lot read": bags_named_in_lot_reads,
}


def run_checks(fetched: list[Fetched], pair: ArmPair) -> dict[str, list[str]]:
    found = {name: check(fetched, pair) for name, check in CHECKS.items()}
    return {name: problems for name, problems in found.items() if problems}


def report(found: dict[str, list[str]]) -> str:
    return "\n\n".join(f"== {name} ==\n" + "\n\n".join(problems)
                       for name, problems in found.items())
