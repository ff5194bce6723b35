"""The dose state machine (SPEC 4.4): allowed transitions as data.

    scheduled -> cleared -> bag_ready -> verified -> infused
    postponed: back to scheduled with a new date inside the window
    missed, cancelled (patient withdrawn or dead): final

Moves back along the main line exist for what happens on the floor:
- cleared -> scheduled: the clearance is withdrawn (a reaction was reported after it);
- bag_ready -> cleared: the bag was destroyed, returned or voided and another must be filled;
- verified -> bag_ready: the bedside verification lapsed (SPEC 4.8: valid for a set time).
Postponing a cleared dose drops its clearance: the investigator clears it again for its new day.
"""

from __future__ import annotations

from ..core.states import StateMachine

FINAL_STATES = frozenset({"infused", "missed", "cancelled"})
# Doses still to be given: a withdrawal or death cancels these.
OPEN_STATES = frozenset({"scheduled", "cleared", "bag_ready", "verified", "postponed"})

DOSE_MACHINE = StateMachine(
    "dose",
    {
        "scheduled": {"cleared", "postponed", "missed", "cancelled"},
        "cleared": {"bag_ready", "scheduled", "postponed", "missed", "cancelled"},
        "bag_ready": {"verified", "cleared", "postponed", "missed", "cancelled"},
        "verified": {"infused", "bag_ready", "cancelled"},
        "postponed": {"scheduled", "missed", "cancelled"},
        "infused": set(),
        "missed": set(),
        "cancelled": set(),
    },
)
