"""SPEC 5: nothing a blinded reader sees of the audit trail counts the entries kept from them.

A cell bag's fill writes an entry a blinded reader cannot see (the link to its lot), a saline
bag's does not; if the reader saw the trail's own sequence numbers, ids or microsecond times,
the gap after each bag's visible entries would tell the arm. So the harness compares, for an
arm-A bag and its arm-B twin, the differences between each visible entry and its neighbours
in every column of the blinded export and page, not only the entries themselves.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import sqlalchemy as sa

from ucmsc_lims.audit import service as audit_trail
from ucmsc_lims.core.audit import AuditEntry

from .pair import ArmRecord


def _blinded_csv(client) -> tuple[list[str], list[dict[str, str]]]:
    response = client.get("/reports/audit.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    header_at = next(i for i, row in enumerate(rows) if row and row[0] in ("seq", "row"))
    header = rows[header_at]
    return header, [dict(zip(header, row, strict=True)) for row in rows[header_at + 1:]]


def _number(text: str) -> float | None:
    """A cell as a number: integers, and times as microseconds."""
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    try:
        return datetime.fromisoformat(text).timestamp() * 1_000_000
    except ValueError:
        return None


def _gaps(header: list[str], rows: list[dict[str, str]], record: ArmRecord) -> list[tuple]:
    """For each visible entry about the record's bag: its action, and per numeric column the
    difference to the entry before and to the entry after it."""
    found = []
    for index, row in enumerate(rows):
        if row["entity_id"] != record.bag.bag_id:
            continue
        for column in header:
            here = _number(row[column])
            if here is None:
                continue
            before = _number(rows[index - 1][column]) if index else None
            after = _number(rows[index + 1][column]) if index + 1 < len(rows) else None
            found.append((row["action"], column,
                          None if before is None else here - before,
                          None if after is None else after - here))
    return found


def test_gaps_between_visible_entries_do_not_tell_the_arm(pair, signed_in):
    page, _api = signed_in("inspector")
    header, rows = _blinded_csv(page)

    gaps_a, gaps_b = _gaps(header, rows, pair.a), _gaps(header, rows, pair.b)

    assert gaps_a, "the blinded export holds the bags' entries"
    assert gaps_a == gaps_b


def test_a_blinded_export_has_no_sequence_number_id_or_hash_of_the_trail(pair, signed_in):
    page, _api = signed_in("inspector")
    header, rows = _blinded_csv(page)

    assert not {"seq", "chain_seq", "hash", "prev_hash"} & set(header)
    assert [int(r["row"]) for r in rows] == list(range(1, len(rows) + 1))
    assert all(r["at_utc"].endswith(("+00:00", "Z")) and "." not in r["at_utc"] for r in rows)


def test_the_blinded_trail_page_numbers_its_own_rows_and_pages_without_ids(pair, signed_in,
                                                                           db):
    page, _api = signed_in("inspector")
    ids = {str(i) for i in db.session.scalars(sa.select(AuditEntry.id))}
    numbers, url, pages = [], "/audit/", 0
    while url and pages < 50:
        html = page.get(url).get_data(as_text=True)
        numbers += [int(n) for n in re.findall(r"<tr>\s*<td>(\d+)</td>", html)]
        following = re.search(r'href="([^"]*)">Older entries', html)
        url = following.group(1).replace("&amp;", "&") if following else None
        if url:
            assert not set(re.findall(r"after=([^&]*)", url)) & ids
        pages += 1

    readable = audit_trail.blinded_page(audit_trail.AuditFilter(), limit=100_000).entries
    assert numbers == list(range(1, len(readable) + 1))
    assert pages >= 2, "the pair's trail spans more than one page"


def test_a_blinded_chain_check_counts_only_what_the_reader_may_read(pair, signed_in, db):
    _page, api = signed_in("inspector")
    count = sa.select(sa.func.count()).select_from(AuditEntry)
    qa_total = db.session.scalar(count)
    readable = db.session.scalar(count.where(AuditEntry.blinded_visible.is_(True)))

    body = api.get("/api/v1/audit/verify").get_json()

    assert readable < qa_total  # the pair wrote entries kept from blinded readers
    assert body["entries"] == readable
    assert body["first_bad_seq"] is None and body["sealed"] is None
    assert (body["checkpoint"] or {}).get("chain_seq") is None
