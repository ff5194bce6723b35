"""In-process measurements on one bench database: the Flask test client calls the app directly,
so every time here is server-side (routing, auth, queries, commit, serialization; no network).
"""

from __future__ import annotations

import statistics
import subprocess
import time
from contextlib import contextmanager

import sqlalchemy as sa

from ucmsc_lims import create_app, freeze_startup_heap
from ucmsc_lims.extensions import db

from .databases import FLASK, ROOT, BenchDatabase

PASSWORD = "demo-password-123"
WARD = "L-WARD-5A"
TODAY_PATIENTS = 40


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary(values: list[float]) -> dict:
    return {"n": len(values), "p50": round(statistics.median(values), 2),
            "p95": round(percentile(values, 95), 2), "max": round(max(values), 2)}


def bench_app(database: BenchDatabase):
    """The app as a served worker holds it: loaded, then its start-up heap frozen."""
    app = create_app({
        "DATABASE_URL": database.url, "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False,
        "DEMO_PASSWORD": PASSWORD,
    })
    freeze_startup_heap()
    return app


@contextmanager
def counting(app):
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def on_execute(conn, cursor, statement, *args):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", on_execute)


def refresh_today(app) -> None:
    """Fresh bags on the ward for today's doses, so verifications answer GO on any day."""
    from ucmsc_lims.scale.cli import seed_scale

    with app.app_context():
        seed_scale(bags=TODAY_PATIENTS, patients=TODAY_PATIENTS, today=TODAY_PATIENTS)


def bedside_bodies(app) -> list[dict]:
    from ucmsc_lims.bagging.models import Bag
    from ucmsc_lims.core.clock import site_today
    from ucmsc_lims.core.db import utcnow
    from ucmsc_lims.trial.models import Dose, Patient

    with app.app_context():
        rows = db.session.execute(
            sa.select(Patient.code, Bag.code, Bag.prepared_weight_kg)
            .join(Bag, Bag.patient_id == Patient.id).join(Dose, Dose.id == Bag.dose_id)
            .where(Bag.status == "received_on_ward", Bag.destination_ward == WARD,
                   Bag.expires_at > utcnow(), Dose.due_on == site_today())
        ).all()
    return [{"patient_code": p, "bag_code": b, "weight_kg": w, "ward_code": WARD}
            for p, b, w in rows]


def bedside_client(database: BenchDatabase) -> dict:
    """Today's bags on the ward and a nurse's bearer token, for the steps that run without
    `measure` (BENCH_STEPS)."""
    app = bench_app(database)
    refresh_today(app)
    facts = {"bedside_bodies": bedside_bodies(app),
             "nurse_header": token(app.test_client(), "nurse")["Authorization"]}
    with app.app_context():
        db.engine.dispose()
    return facts


def token(client, username: str) -> dict:
    response = client.post("/api/v1/auth/token",
                           json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def time_calls(call, n: int, warm: int = 5) -> list[float]:
    for _ in range(warm):
        call()
    out = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return out


def scalar(app, sql: str, **params):
    with app.app_context():
        return db.session.execute(sa.text(sql), params).scalar()


def measure(database: BenchDatabase, log) -> dict:
    app = bench_app(database)
    refresh_today(app)
    client = app.test_client()
    results: dict = {}
    nurse, pharmacist = token(client, "nurse"), token(client, "pharmacist")
    bodies = bedside_bodies(app)
    assert bodies, "no bag on the ward for today"
    results["counts"] = {
        table: scalar(app, f"SELECT count(*) FROM {table}")
        for table in ("bag", "patient", "lot", "audit_entry", "infusion")}

    # Bedside verification (SPEC 9: p95 <= 25 ms at 1,000,000 bags).
    decisions, position = [], [0]

    def verify():
        body = bodies[position[0] % len(bodies)]
        position[0] += 1
        response = client.post("/api/v1/bedside/verifications", json=body, headers=nurse)
        decisions.append(response.get_json()["decision"])

    times = time_calls(verify, 300, warm=20)
    with counting(app) as seen:
        verify()
    results["bedside"] = {**summary(times), "queries": len(seen),
                          "go": decisions.count("GO"), "calls": len(decisions)}
    log(f"  bedside verification: {results['bedside']}")

    # Trace of a donor with 100 bags (SPEC 9: bounded queries, <= 100 ms).
    donor = scalar(app, """
        SELECT d.code FROM donor d JOIN collection c ON c.donor_id = d.id
        JOIN lot bank ON bank.collection_id = c.id AND bank.kind = 'cell_bank'
        JOIN lot batch ON batch.parent_id = bank.id
        JOIN bag_source s ON s.lot_id = batch.id
        WHERE d.id = (SELECT min(d2.id) FROM donor d2 JOIN collection c2 ON c2.donor_id = d2.id
                      WHERE substr(c2.din, 8, 1) = '5')
        GROUP BY d.code HAVING count(*) = 100""")
    if donor:
        path = f"/api/v1/trace/{donor}"
        times = time_calls(lambda: client.get(path, headers=pharmacist), 20, warm=2)
        with counting(app) as seen:
            response = client.get(path, headers=pharmacist)
        bags = sum(1 for node in response.get_json()["nodes"] if node["kind"] == "bag")
        results["trace"] = {**summary(times), "queries": len(seen), "bags": bags,
                            "donor": donor}
        log(f"  trace: {results['trace']}")

    # List pages: first page and a deep page (SPEC 9: <= 150 ms at 1,000,000 bags).
    bags = results["counts"]["bag"]
    deep_bag = scalar(app, "SELECT bag_id FROM bag ORDER BY bag_id LIMIT 1 OFFSET :o",
                      o=int(bags * 0.9))
    lots = results["counts"]["lot"]
    deep_lot = scalar(app, "SELECT id FROM lot ORDER BY id LIMIT 1 OFFSET :o", o=int(lots * 0.9))
    patients = results["counts"]["patient"]
    deep_subject = scalar(app, "SELECT subject_id FROM patient ORDER BY subject_id "
                          "LIMIT 1 OFFSET :o", o=int(patients * 0.9))
    deep_audit = scalar(app, "SELECT max(id) FROM audit_entry") // 10
    api = {"pharmacist": pharmacist}
    pages = {
        "bags API, first page": ("/api/v1/bags?limit=50", "pharmacist"),
        "bags API, deep page": (f"/api/v1/bags?limit=50&after={deep_bag}", "pharmacist"),
        "bags API, status filter": ("/api/v1/bags?limit=50&status=received_on_ward",
                                    "pharmacist"),
        "patients API, first page": ("/api/v1/patients?per_page=50", "pharmacist"),
        "patients API, deep page": (
            f"/api/v1/patients?per_page=50&after={deep_subject}", "pharmacist"),
        "patients API, deep page by number": (
            f"/api/v1/patients?per_page=50&page={int(patients / 50 * 0.9)}", "pharmacist"),
        "lots API, first page": ("/api/v1/lots?limit=50", "pharmacist"),
        "lots API, deep page": (f"/api/v1/lots?limit=50&after={deep_lot}", "pharmacist"),
        "audit page, first page": ("/audit/", "page:qa"),
        "audit page, deep page": (f"/audit/?before={deep_audit}", "page:qa"),
        "patients page, deep page": (f"/trial/patients?after={deep_subject}", "page:qa"),
        "donors page": ("/donors/", "page:qa"),
        "lots page": ("/lots/", "page:qa"),
        "fill session page": ("/bagging/", "page:technician"),
        "follow-up worklist page": ("/followup/", "page:investigator"),
        "randomization page": ("/trial/randomization", "page:pharmacist"),
    }
    page_clients: dict[str, object] = {}

    def caller_for(who: str):
        if not who.startswith("page:"):
            return client, api[who]
        role = who.removeprefix("page:")
        if role not in page_clients:
            page_clients[role] = app.test_client()
            page_clients[role].post("/login", data={"username": role, "password": PASSWORD})
        return page_clients[role], {}

    results["pages"] = {}
    for label, (path, who) in pages.items():
        caller, headers = caller_for(who)
        status = caller.get(path, headers=headers).status_code
        times = time_calls(lambda c=caller, p=path, h=headers: c.get(p, headers=h), 20, warm=2)
        with counting(app) as seen:
            caller.get(path, headers=headers)
        results["pages"][label] = {**summary(times), "queries": len(seen), "status": status}
        log(f"  {label}: {results['pages'][label]}")

    # 100 blinded bag labels on A4 sheets (SPEC 9: <= 3 s).
    from ucmsc_lims.bagging import printing
    from ucmsc_lims.bagging.models import Bag
    from ucmsc_lims.labels.sheet import to_pdf

    with app.test_request_context():
        chosen = list(db.session.scalars(sa.select(Bag).order_by(Bag.id.desc()).limit(100)))
        started = time.perf_counter()
        pdf = to_pdf([printing.label_for(bag) for bag in chosen], "a4")
        results["labels_pdf"] = {"seconds": round(time.perf_counter() - started, 2),
                                 "labels": len(chosen), "bytes": len(pdf)}
    log(f"  100-label PDF: {results['labels_pdf']}")

    # `flask audit verify` over the whole chain (SPEC 9: 1,000,000 entries <= 15 s).
    from ucmsc_lims.core.sealer import seal_pending

    seal_pending(app)
    started = time.perf_counter()
    done = subprocess.run([*FLASK, "audit", "verify"], cwd=ROOT, env=database.env(),
                          capture_output=True, text=True)
    results["audit_verify"] = {"seconds": round(time.perf_counter() - started, 1),
                               "output": done.stdout.strip(), "ok": done.returncode == 0}
    log(f"  audit verify: {results['audit_verify']}")
    # From the last signed checkpoint (seed-scale signs one; the bench's own writes follow it),
    # in process, as the audit page runs it: SPEC 9, <= 1 s whatever the chain's length.
    from ucmsc_lims.core import checkpoints

    with app.app_context():
        anchor = checkpoints.Anchor.of(app)
        started = time.perf_counter()
        quick = checkpoints.verify_trail(db.session, anchor, full=False,
                                         max_unsealed_age=app.config["AUDIT_SEAL_MAX_AGE"])
        results["audit_verify_quick"] = {"seconds": round(time.perf_counter() - started, 3),
                                         "output": quick.message, "ok": quick.ok}
        db.session.rollback()
    log(f"  audit verify --quick: {results['audit_verify_quick']}")
    results["bedside_bodies"] = bodies
    results["nurse_header"] = nurse["Authorization"]
    with app.app_context():
        db.engine.dispose()
    return results
