"""A tiny state machine helper: allowed transitions are data, one place checks them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .errors import InvalidTransition


class StateMachine:
    """Allowed transitions of one kind of record, as `{from_state: {to_state, ...}}`."""

    def __init__(self, name: str, transitions: Mapping[str, Iterable[str]]):
        self.name = name
        self.transitions = {src: frozenset(dst) for src, dst in transitions.items()}

    def allowed_from(self, state: str) -> frozenset[str]:
        return self.transitions.get(state, frozenset())

    def check(self, current: str, target: str) -> None:
        """Raise InvalidTransition naming the current state and the allowed next states."""
        allowed = self.allowed_from(current)
        if target not in allowed:
            nexts = ", ".join(sorted(allowed)) or "none"
            raise InvalidTransition(
                f"A {self.name} in state '{current}' cannot move to '{target}'. "
                f"Allowed next states: {nexts}."
            )
