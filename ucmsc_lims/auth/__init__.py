"""Users, roles, sign-in, lock-out, sessions and API tokens (SPEC 2 and 6)."""
