def test_pair_builds(pair, signed_in):
    page, api = signed_in("nurse")
    print(pair.a.identifiers(), pair.b.identifiers())
    print(api.get(f"/api/v1/bags/{pair.a.bag.bag_id}").get_json())
    print(page.get(f"/bagging/bags/{pair.a.bag.bag_id}").status_code)
