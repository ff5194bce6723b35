"""Every mapped table, imported once so the metadata is complete (Alembic and create_app)."""

from .core.audit import AuditEntry  # noqa: F401
from .core.checkpoints import AuditCheckpoint  # noqa: F401
from .core.esign import Signature  # noqa: F401
from .core.idempotency import IdempotencyRecord  # noqa: F401
from .domains import domain_modules

for _module in domain_modules("models"):
    pass  # importing registers the tables
