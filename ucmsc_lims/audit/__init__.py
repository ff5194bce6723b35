"""Pages that read the audit trail; the trail itself lives in core.audit."""
