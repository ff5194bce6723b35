"""Every mapped table, imported once so the metadata is complete (Alembic and create_app)."""

from .auth.models import ApiToken, User, UserRole  # noqa: F401
from .core.audit import AuditEntry  # noqa: F401
from .core.esign import Signature  # noqa: F401
from .core.idempotency import IdempotencyRecord  # noqa: F401
from .protocol.models import ProtocolSettingVersion  # noqa: F401
