"""SPEC 5: the audit trail a blinded user reads has the same actions and counts for a cell bag
and a saline bag, their patients, doses, verifications and infusions, and no entry of it ties
them to a lot, donor or material."""

from __future__ import annotations

import re
from collections import Counter

from ucmsc_lims.audit import service as audit_trail
from ucmsc_lims.core.audit import AuditEntry

from .checks import lot_values
from .compare import diff, mask, mentions
from .pair import ArmRecord


def _entity_keys(record: ArmRecord) -> set[tuple[str, str]]:
    subject = record.patient.subject_id
    return {("bag", record.bag.bag_id), ("patient", subject), ("dose", f"{subject}/1"),
            ("verification", str(record.verification.id)),
            ("infusion", str(record.infusion.id)),
            ("unblinding_request", str(record.unblinding.id))}


def _text(entry: AuditEntry) -> str:
    return " ".join(filter(None, [entry.entity_id, entry.old, entry.new, entry.reason]))


def _entries_of(record: ArmRecord, other: ArmRecord, entries: list[AuditEntry]):
    """The entries about this record: on one of its entities, or naming its bag or patient
    (signatures, shipments, custody events)."""
    ids, other_ids = record.identifiers(), other.identifiers()
    keys = _entity_keys(record)
    return [e for e in entries
            if ((e.entity_type, e.entity_id) in keys or mentions(_text(e), ids))
            and not mentions(_text(e), other_ids)]


def _blinded_trail() -> list[AuditEntry]:
    return audit_trail.search(audit_trail.AuditFilter(), blinded=True, limit=100_000)


def test_a_blinded_reader_finds_the_same_audit_actions_and_counts_for_both_arms(pair):
    entries = _blinded_trail()
    of_a = _entries_of(pair.a, pair.b, entries)
    of_b = _entries_of(pair.b, pair.a, entries)

    count_a = Counter((e.action, e.entity_type) for e in of_a)
    count_b = Counter((e.action, e.entity_type) for e in of_b)
    assert count_a == count_b
    # The whole life is there: prepared, filled, verified, released, moved, infused.
    actions = {action for action, _ in count_a}
    assert {"bag.prepared", "bag.fill_verified", "bedside.verification", "bedside.confirmed",
            "infusion.started", "infusion.ended", "unblinding.requested"} <= actions


def test_the_blinded_audit_entries_of_both_arms_read_the_same_when_masked(pair):
    entries = _blinded_trail()
    ids_a, ids_b = pair.a.identifiers(), pair.b.identifiers()

    def masked(record, other, ids):
        return sorted(mask(f"{e.username} {e.action} {e.entity_type} {_text(e)}", ids)
                      for e in _entries_of(record, other, entries))

    lines_a, lines_b = masked(pair.a, pair.b, ids_a), masked(pair.b, pair.a, ids_b)
    assert lines_a == lines_b, diff("\n".join(lines_a), "\n".join(lines_b),
                                    name_a="arm A entries", name_b="arm B entries")


def test_no_blinded_audit_entry_about_the_pair_names_the_lot_donor_or_materials(pair):
    forbidden = lot_values(pair)
    ids = {**pair.a.identifiers(), **pair.b.identifiers()}
    about_pair = [e for e in _blinded_trail() if mentions(_text(e), ids)]

    leaks = [f"{e.action} {e.entity_type} {e.entity_id}: {what} {value}"
             for e in about_pair for value, what in forbidden.items() if value in _text(e)]
    assert leaks == []
    assert not any(re.search(r'"(arm|lot_id|cells)"', _text(e)) for e in about_pair)


def test_the_unblinded_trail_holds_the_source_entry_the_blinded_one_hides(pair):
    """The harness compares something real: the unblinded trail does tell the arms apart."""
    unblinded = audit_trail.search(audit_trail.AuditFilter(entity_type="bag",
                                                           entity_id=pair.a.bag.bag_id),
                                   blinded=False, limit=1000)
    blinded = audit_trail.search(audit_trail.AuditFilter(entity_type="bag",
                                                         entity_id=pair.a.bag.bag_id),
                                 blinded=True, limit=1000)

    assert "bag.source_recorded" in {e.action for e in unblinded}
    assert "bag.source_recorded" not in {e.action for e in blinded}


_ROW = re.compile(r"<tr>\s*<td>\d+</td><td>[^<]*</td><td>[^<]*</td>\s*<td>([^<]+)</td>")


def test_the_inspectors_audit_page_lists_the_same_actions_for_both_arms(pair, signed_in):
    page, _ = signed_in("inspector")
    for entity_type in ("bag", "patient", "dose", "verification", "infusion"):
        actions = []
        for record in pair.records:
            key = next(k for k in _entity_keys(record) if k[0] == entity_type)
            response = page.get("/audit/", query_string={"entity_type": entity_type,
                                                         "entity_id": key[1]})
            assert response.status_code == 200
            actions.append(Counter(_ROW.findall(response.get_data(as_text=True))))
        assert actions[0], f"the audit page lists no {entity_type} entries"
        assert actions[0] == actions[1], f"{entity_type}: {actions[0]} != {actions[1]}"
