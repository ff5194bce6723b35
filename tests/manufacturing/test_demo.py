"""The demo seed runs through the services and leaves what the other domains rely on."""

from __future__ import annotations

from datetime import timedelta

from ucmsc_lims.core.db import utcnow
from ucmsc_lims.donors import demo as donors_demo
from ucmsc_lims.manufacturing import demo, service
from ucmsc_lims.materials import demo as materials_demo
from ucmsc_lims.qc import service as qc


def test_the_demo_has_lots_at_every_state_and_a_batch_for_today(db, users):
    donors_demo.seed(users)
    materials_demo.seed(users)
    demo.seed(users)
    states = {lot.state for lot in service.list_lots(limit=500)}
    assert {"received", "processing", "expanding", "banked", "qc_pending", "released",
            "rejected", "thawed"} <= states
    [today, *_] = service.usable_batches(utcnow())
    assert today.cells_left >= 10 * 0.5e6 * 80
    assert any(lot.conditional_tests for lot in service.list_lots(limit=500))
    assert any(d.state == "open" for d in qc.list_deviations())
    demo.refresh_today(users)
    assert len(service.usable_batches(utcnow() + timedelta(minutes=1))) == 2
