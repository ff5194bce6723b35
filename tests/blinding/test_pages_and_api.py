"""SPEC 2, 4.5, 4.6, 4.9, 7: every page and API answer a blinded role can reach reads the same for
a cell bag and a saline bag (and their patients), once their own identifiers, dates and numbers
are masked; and none of them names the lot, the donor, the materials or a field of the arm.

The routes come from the app's URL map, so a route added later is checked without anyone
remembering to add it here. The checks themselves are in checks.py.
"""

from __future__ import annotations

from .checks import report, run_checks
from .routes import unfilled_arguments


def test_every_blinded_route_argument_is_filled_or_skipped_with_a_reason(app):
    missing = unfilled_arguments(app)

    assert missing == [], (
        "The blinding harness cannot fill these URL arguments: add each to RECORD_ARGUMENTS, "
        "PLAIN_ARGUMENTS or ENDPOINT_ARGUMENTS in tests/blinding/routes.py (or to SKIPPED with "
        "a reason):\n" + "\n".join(missing))


def test_no_blinded_page_or_api_answer_tells_a_cell_bag_from_a_saline_bag(fetched, pair):
    reached = {(f.request.role, f.request.endpoint) for f in fetched
               if f.request.kind == "pair" and f.a.status_code == 200}
    for expected in [("nurse", "bagging.bag_page"), ("nurse", "api_bagging.get_bag"),
                     ("nurse", "bedside.verification"), ("nurse", "api_bedside.get_infusion"),
                     ("nurse", "api_bagging.label"), ("investigator", "trial.patient"),
                     ("investigator", "api_trial.get_patient"), ("inspector", "audit.trail"),
                     ("admin", "api_trace.get_trace"), ("inspector", "custody.chain")]:
        assert expected in reached, f"the walk did not read {expected} with a 200"

    found = run_checks(fetched, pair)

    assert found == {}, report(found)


def test_a_new_blinded_route_with_an_unknown_argument_is_caught(tmp_path):
    from tests.conftest import TEST_CONFIG
    from ucmsc_lims import create_app
    from ucmsc_lims.core.permissions import requires

    app = create_app({**TEST_CONFIG, "DATABASE_URL": f"sqlite:///{tmp_path / 'new.sqlite3'}"})

    @app.route("/bags-by-fridge/<fridge>")
    @requires("bag.read")
    def bags_by_fridge(fridge):
        return fridge

    assert unfilled_arguments(app) == [
        "bags_by_fridge (/bags-by-fridge/<fridge>): argument 'fridge'"]
