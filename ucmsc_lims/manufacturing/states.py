"""The two lot state machines (SPEC 4.2): every allowed transition, in one place."""

from __future__ import annotations

import itertools

from ..core.states import StateMachine

BANK_FLOW = ("received", "processing", "expanding", "banked", "qc_pending")
BATCH_FLOW = ("thawed", "expanding", "harvested", "qc_pending")
AFTER_RELEASE = ("released",)
FINAL = ("rejected", "destroyed", "recalled", "expired")


def _table(flow: tuple[str, ...]) -> dict[str, set[str]]:
    table: dict[str, set[str]] = {}
    for here, after in itertools.pairwise(flow):
        table[here] = {after}
    # Before release, any state may be held (and back, by QA) or destroyed with a reason.
    for state in flow:
        table.setdefault(state, set()).update({"on_hold", "destroyed"})
    table["qc_pending"] |= {"released", "rejected"}
    # After release: held and back, recalled (signed, starts a look-back) or expired.
    table["released"] = {"on_hold", "recalled", "expired"}
    # A held lot goes back to the state it was held from (the service checks which), or ends.
    table["on_hold"] = {*flow, "released", "destroyed", "rejected", "recalled", "expired"}
    table["rejected"] = {"destroyed"}
    table["recalled"] = {"destroyed"}
    table["expired"] = {"destroyed"}
    table["destroyed"] = set()
    return table


BANK_MACHINE = StateMachine("cell bank lot", _table(BANK_FLOW))
BATCH_MACHINE = StateMachine("product batch", _table(BATCH_FLOW))

# Targets only QA may set (SPEC 2: QA releases, rejects, holds and recalls lots).
QA_TARGETS = frozenset({"released", "rejected", "on_hold", "recalled"})
# Targets only the system sets, when the date passes.
SYSTEM_TARGETS = frozenset({"expired"})
RELEASED_STATES = frozenset({"released"})


def machine_for(kind: str) -> StateMachine:
    return BANK_MACHINE if kind == "cell_bank" else BATCH_MACHINE
