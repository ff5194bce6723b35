from __future__ import annotations

import pytest

from tests.factories.trace import seeded_chain


@pytest.fixture
def chain(db, users):
    return seeded_chain(users)
