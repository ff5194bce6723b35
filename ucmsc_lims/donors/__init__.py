"""Donors (the mothers, pseudonymous), consent, eligibility and cord collections (SPEC 4.1)."""
