"""The trace page (graph and table), its exports, the API and the CLI."""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import quote

from pypdf import PdfReader

from ucmsc_lims.extensions import db


def test_the_api_answers_the_spec_shape_with_arm_for_qa(chain, api_client):
    response = api_client("qa").get(f"/api/v1/trace/{chain.bag_a.code}")

    body = response.get_json()
    assert response.status_code == 200
    assert set(body) == {"root", "nodes", "edges"}
    assert body["root"] == f"bag:{chain.bag_a.bag_id}"
    bag = next(n for n in body["nodes"] if n["id"] == body["root"])
    assert {"id", "kind", "label"} <= set(bag) and bag["arm"] == "A"
    assert all(set(e) == {"from", "to", "kind"} for e in body["edges"])
    assert "lot" in {n["kind"] for n in body["nodes"]}


def test_the_api_gives_a_nurse_the_bag_without_arm_or_lot(chain, api_client):
    response = api_client("nurse").get(f"/api/v1/trace/{chain.bag_a.bag_id}")

    body = response.get_json()
    bag = next(n for n in body["nodes"] if n["kind"] == "bag")
    assert "arm" not in bag and "lot_id" not in bag
    assert {n["kind"] for n in body["nodes"]} == {"bag", "custody_event", "patient"}


def test_the_api_refuses_an_unknown_identifier_as_problem_json(chain, api_client):
    response = api_client("investigator").get("/api/v1/trace/XYZ-0")

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert "Nothing you may trace matches 'XYZ-0'" in response.get_json()["detail"]


def test_the_api_reads_a_din_barcode_with_its_equals_sign(chain, api_client):
    response = api_client("qa").get("/api/v1/trace/" + quote(f"={chain.batch.din}00"))

    assert response.get_json()["root"] == f"collection:{chain.batch.din}"


def test_the_page_shows_the_graph_and_the_table_with_links(chain, login_as):
    page = login_as("qa").get(f"/trace/?q={chain.batch.lot_id}").get_data(as_text=True)

    assert "<svg" in page and "<script" not in page.split("</head>")[1]
    assert f"Bag {chain.bag_a.bag_id}" in page
    assert f"/manufacturing/{chain.batch.lot_id}" in page or chain.batch.lot_id in page
    assert 'style="' not in page


def test_the_page_for_a_nurse_shows_a_bag_trace_without_the_lot(chain, login_as):
    page = login_as("nurse").get(f"/trace/?q={chain.bag_a.code}").get_data(as_text=True)

    assert f"Bag {chain.bag_a.bag_id}" in page
    assert chain.batch.lot_id not in page
    assert "Blinded view" in page


def test_the_page_says_in_plain_words_when_nothing_matches(chain, login_as):
    response = login_as("qa").get("/trace/?q=NOPE")

    assert response.status_code == 404
    assert "Nothing you may trace matches" in response.get_data(as_text=True)


def test_the_csv_export_parses_back_into_nodes_and_edges(chain, login_as):
    response = login_as("qa").get(f"/trace/export.csv?q={chain.batch.lot_id}")

    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    nodes = [r for r in rows if r["record"] == "node"]
    edges = [r for r in rows if r["record"] == "edge"]
    assert f"bag:{chain.bag_a.bag_id}" in {r["id"] for r in nodes}
    assert (f"lot:{chain.batch.lot_id}", f"bag:{chain.bag_a.bag_id}") in {
        (r["from"], r["to"]) for r in edges}
    assert "attachment" in response.headers["Content-Disposition"]


def test_the_json_export_is_the_api_shape(chain, login_as):
    response = login_as("pharmacist").get(f"/trace/export.json?q={chain.bag_b.code}")

    body = json.loads(response.get_data(as_text=True))
    assert body["root"] == f"bag:{chain.bag_b.bag_id}"
    assert {"nodes", "edges"} <= set(body)


def test_the_pdf_export_carries_the_records(chain, login_as):
    response = login_as("inspector").get(f"/trace/export.pdf?q={chain.patient_a.code}")

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    assert response.mimetype == "application/pdf"
    assert f"patient:{chain.patient_a.subject_id}" in text
    assert "BLINDED view" in text
    assert chain.batch.lot_id not in text


def test_the_svg_export_is_a_graph_without_script(chain, login_as):
    response = login_as("qa").get(f"/trace/export.svg?q={chain.bag_a.code}")

    svg = response.get_data(as_text=True)
    assert svg.startswith("<svg") and "<script" not in svg
    assert chain.batch.lot_id in svg


def test_the_cli_prints_the_trace_as_a_table(chain, app):
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["trace", chain.batch.lot_id])

    assert result.exit_code == 0, result.output
    assert f"bag:{chain.bag_a.bag_id}" in result.output
    assert "filled_into" in result.output


def test_the_cli_can_show_a_blinded_users_view(chain, app):
    db.session.commit()
    result = app.test_cli_runner().invoke(
        args=["trace", chain.batch.lot_id, "--as-user", "nurse"])

    assert result.exit_code == 0, result.output
    assert "blinded view" in result.output
    assert chain.bag_a.bag_id not in result.output


def test_every_record_in_the_qa_table_links_to_its_page(chain, login_as, users):
    from ucmsc_lims.trace import service

    client = login_as("qa")
    with client.application.test_request_context():
        result = service.trace(f"infusion:{chain.infusion.id}", reader=users["qa"])
    linked = {n.kind for n in result.nodes if n.url}

    assert {"donor", "collection", "lot", "material_lot", "bag", "patient"} <= linked
    for node in result.nodes:
        if node.kind in ("donor", "collection", "lot", "bag", "patient"):
            assert client.get(node.url).status_code == 200, node.url


def test_the_graph_draws_custody_events_for_a_few_bags_and_lists_them_for_many():
    from ucmsc_lims.trace.graph import MAX_BAGS_WITH_CUSTODY, to_svg
    from ucmsc_lims.trace.service import Edge, Node, Trace

    def trace_of(bags: int) -> Trace:
        nodes, edges = [], []
        for n in range(bags):
            nodes += [Node(f"bag:B{n}", "bag", f"Bag B{n}"),
                      Node(f"custody_event:{n}", "custody_event", f"receipt {n}", "intact")]
            edges.append(Edge(f"bag:B{n}", f"custody_event:{n}", "moved"))
        return Trace(root="bag:B0", identifier="B0", blinded=False, nodes=nodes, edges=edges)

    assert "receipt 0" in to_svg(trace_of(MAX_BAGS_WITH_CUSTODY))
    many = to_svg(trace_of(MAX_BAGS_WITH_CUSTODY + 1))
    assert "receipt 0" not in many and "Bag B0" in many
