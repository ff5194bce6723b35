"""The bag state machine and who may move a bag (SPEC 4.7: the same table for both arms).

`pending_fill` and `void` sit outside the SPEC 4.7 table: a prepared bag whose label is printed
and waits to be scanned at filling, and one abandoned before filling. `pending_fill -> filled`
is the table's `(new) -> filled`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.permissions import NURSE, PHARMACIST, QA, TECHNICIAN
from ..core.states import StateMachine

PENDING_FILL, VOID = "pending_fill", "void"
FILLED, RELEASED, IN_TRANSIT = "filled", "released_for_issue", "in_transit"
RECEIVED, VERIFIED, INFUSING = "received_on_ward", "verified", "infusing"
INFUSED, STOPPED = "infused", "stopped"
ON_HOLD, RETURNED, DESTROYED = "on_hold", "returned", "destroyed"

# The SPEC 4.7 states, in life-cycle order.
BAG_STATES = (
    FILLED, RELEASED, IN_TRANSIT, RECEIVED, VERIFIED, INFUSING, INFUSED, STOPPED, ON_HOLD,
    RETURNED, DESTROYED,
)
# "any state before infusing"
BEFORE_INFUSING = (FILLED, RELEASED, IN_TRANSIT, RECEIVED, VERIFIED)
# SPEC 4.7: a bag in these states is never shown as expired by the clock.
NEVER_EXPIRED = frozenset({INFUSING, INFUSED, STOPPED, DESTROYED, RETURNED, PENDING_FILL, VOID})
# Forward moves refused once the bag has expired ("fails every check from that moment").
REFUSED_WHEN_EXPIRED = frozenset({RELEASED, IN_TRANSIT, RECEIVED, VERIFIED, INFUSING})

BAG_MACHINE = StateMachine(
    "bag",
    {
        PENDING_FILL: {FILLED, VOID},
        FILLED: {RELEASED, ON_HOLD, RETURNED},
        RELEASED: {IN_TRANSIT, ON_HOLD, RETURNED},
        IN_TRANSIT: {RECEIVED, ON_HOLD, RETURNED},
        RECEIVED: {VERIFIED, ON_HOLD, RETURNED},
        VERIFIED: {INFUSING, ON_HOLD, RETURNED},
        INFUSING: {INFUSED, STOPPED},
        # Back only to the state it was held from (checked with `held_from`), or destroyed.
        ON_HOLD: {*BEFORE_INFUSING, DESTROYED},
        RETURNED: {DESTROYED},
        INFUSED: set(),
        STOPPED: set(),
        DESTROYED: set(),
        VOID: set(),
    },
)


@dataclass(frozen=True)
class Rule:
    """Who makes one move, whether it is signed (and with which meaning), whether it needs a
    reason."""

    roles: frozenset[str]
    meaning: str | None = None
    needs_reason: bool = False


def _rules() -> dict[tuple[str, str], Rule]:
    rules = {
        (PENDING_FILL, FILLED): Rule(frozenset({TECHNICIAN})),
        (PENDING_FILL, VOID): Rule(frozenset({TECHNICIAN, PHARMACIST}), needs_reason=True),
        (FILLED, RELEASED): Rule(frozenset({PHARMACIST}), meaning="bag_release"),
        (RELEASED, IN_TRANSIT): Rule(frozenset({TECHNICIAN})),
        (IN_TRANSIT, RECEIVED): Rule(frozenset({NURSE})),
        (RECEIVED, VERIFIED): Rule(frozenset({NURSE}), meaning="bedside_verification"),
        (VERIFIED, INFUSING): Rule(frozenset({NURSE})),
        (INFUSING, INFUSED): Rule(frozenset({NURSE})),
        (INFUSING, STOPPED): Rule(frozenset({NURSE})),
        (RETURNED, DESTROYED): Rule(frozenset({PHARMACIST}), needs_reason=True),
        (ON_HOLD, DESTROYED): Rule(frozenset({PHARMACIST}), needs_reason=True),
    }
    for state in BEFORE_INFUSING:
        rules[(state, ON_HOLD)] = Rule(frozenset({QA, PHARMACIST}), needs_reason=True)
        rules[(state, RETURNED)] = Rule(frozenset({NURSE, PHARMACIST}), needs_reason=True)
        rules[(ON_HOLD, state)] = Rule(frozenset({QA}), meaning="bag_hold_disposition",
                                       needs_reason=True)
    return rules


# (from, to) -> Rule: the "by" and "when" columns of the SPEC 4.7 table.
BAG_RULES = _rules()
