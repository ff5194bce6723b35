"""The demo study that `make run` seeds (SPEC 8)."""
