"""The demo follow-up (SPEC 8): past patients with visits, labs, events and a worklist."""

from ucmsc_lims.followup import demo, service
from ucmsc_lims.trial import demo as trial_demo


def test_the_demo_has_patients_with_completed_visits_and_a_worklist(db, users):
    trial_demo.seed(users)
    demo.seed(users)
    followed = [p for p in service.followed_patients() if p.subject_id.startswith("02-")]
    assert len(followed) == len(demo.DAYS_SINCE_DAY0)
    with_visits = [p for p in followed if len(service.completed_visits(p)) >= 2]
    assert len(with_visits) >= 3
    visit = service.completed_visits(with_visits[0])[0]
    assert len(visit.current_labs) == 11 and service.scores_of(visit).meld is not None
    states = {(row.subject_id, row.state.value) for row in service.worklist()}
    assert ("02-005", "due") in states and ("02-006", "overdue") in states
    assert sum(service.survival_of(p).dead for p in followed) == 1


def test_seeding_the_demo_twice_adds_nothing(db, users):
    trial_demo.seed(users)
    demo.seed(users)
    before = len(service.followed_patients())
    demo.seed(users)
    assert len(service.followed_patients()) == before
