"""A state change reads the record afresh under a row lock: a request that loaded a bag before
another request moved it cannot overwrite that move from its stale view."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.factories import make_demo_users
from tests.factories.custody import bag_on_ward
from ucmsc_lims.auth.models import User
from ucmsc_lims.bagging import service as bagging
from ucmsc_lims.core.errors import InvalidTransition
from ucmsc_lims.extensions import db


def _user(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def test_a_stale_bag_cannot_be_moved_from_the_state_it_no_longer_has(committed_app):
    with committed_app.app_context():
        if db.engine.dialect.name == "sqlite":
            pytest.skip("SQLite: a request that may write holds the write lock from its "
                        "start (core.sqlite), so no other request moves the bag between its "
                        "read and its write")
        users = make_demo_users()
        _, bag = bag_on_ward(users, "A")
        db.session.commit()
        bag_id = bag.bag_id

    with committed_app.app_context():  # request 1 reads the bag on the ward
        stale = bagging.get_bag(bag_id)
        assert stale.status == "received_on_ward"

        with committed_app.app_context():  # request 2 puts it on hold meanwhile
            bagging.transition_bag(bagging.get_bag(bag_id), "on_hold", by=_user("qa"),
                                   reason="temperature logger alarm")
            db.session.commit()

        with pytest.raises(InvalidTransition, match="in state 'on_hold'"):
            bagging.transition_bag(stale, "on_hold", by=_user("pharmacist"), reason="again")
        db.session.rollback()
        assert bagging.get_bag(bag_id).held_from == "received_on_ward"
