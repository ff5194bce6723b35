from tests.factories.manufacturing import make_batch


def test_a_released_batch_can_be_made_through_the_services(db, users):
    batch = make_batch(users)
    assert batch.state == "released"
    assert batch.parent.state == "released"
    assert [p.number for p in batch.passages] == [3, 4, 5]
