"""Versioned protocol settings (SPEC 1): data, not code; every change audited."""
