"""Bedside verification by two nurses, and the infusion record (SPEC 4.8)."""
