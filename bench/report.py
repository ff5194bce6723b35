"""bench/RESULTS.md: one table, a column per engine and size, the SPEC 9 target beside each row."""

from __future__ import annotations

from pathlib import Path

HARNESS = """\
## How these numbers are made

- `make bench` (`python -m bench.run`) builds each database once with `flask seed-scale --bags N`
  (bulk Core inserts, audit entries sealed in Python with `core.audit.entry_hash`) and keeps it:
  SQLite files under `bench/data/`, PostgreSQL databases `ucmsc_bench_10k` and `ucmsc_bench_1m`.
  A database of an older migration head is upgraded in place (`flask db upgrade`); it is
  rebuilt only when a build did not finish. `seed-scale` ends with `ANALYZE`. `BENCH_SIZES` (default
  `"10000 1000000"`) and `BENCH_ENGINES` (default `"sqlite postgresql"`) choose what runs.
- Every run first adds 40 patients with dose 1 due today and their bags received on the demo
  ward (`seed_scale(today=40)`), so bedside verifications answer GO on any day.
- Server-side times: the Flask test client calls the app in process (routing, bearer-token
  auth, every query, the commit, JSON), no network. Bedside verification: 300 timed POSTs to
  `/api/v1/bedside/verifications` after 20 warm-up ones, cycling over today's bags. Pages and
  trace: 20 timed GETs after 2 warm-up ones. Queries: SQL statements of one more call.
- Deep pages: the bags, lots and patients APIs and the patients page after the key at 90 % of
  the table (keyset, what their `next` links use); the patients API also at the page number
  90 % of the way (offset, still accepted); the audit page before the id at 10 % of the trail.
  Pages are read signed in as the role that uses them (QA, technician, investigator,
  pharmacist): donors, lots, the fill session, the follow-up worklist and randomization.
- Trace: `GET /api/v1/trace/<donor code>` (pharmacist) for the first synthetic donor, whose
  cell bank fed exactly 100 bags.
- Labels: 100 blinded bag labels (`bagging.printing.label_for`) on A4 sheets with
  `labels.sheet.to_pdf`.
- Audit: `flask audit verify` as a command (start-up included) over the whole chain.
- What a nurse feels (`bench/browser.py`): the product served by gunicorn with
  `gunicorn.conf.py` as `make run` serves it (2 workers of 2 threads, keep-alive, audit
  sealer), and Debian's Chromium driven by Playwright as nurse 1 with a keyboard-wedge
  scanner: wristband, Enter, weight, Enter, the two boxes ticked with the space bar, bag,
  Enter; no mouse. `BENCH_BROWSER_SCANS` (default 100) timed scans after 5 warm-up ones,
  cycling over today's bags, each a recorded GO. Timed in the page: from the keydown of Enter
  on the bag scan to the end of the first frame after the decision entered the page. The
  parts are the browser's Resource Timing of the scan's request (Navigation Timing for the
  plain form): before the request (the page's script), redirect, connection, server (request
  sent to first byte), transfer, and render (last byte to the decision on screen). The plain
  form (`BENCH_BROWSER_PLAIN_SCANS`, default 40) is the same page with its script told to
  leave the form alone: POST, redirect, GET of the verification page, as without script.
- Load: gunicorn with the product's workers (`gunicorn.conf.py`: 2 workers of 2 threads,
  keep-alive), on 127.0.0.1, the product app (`app:app`, with its audit sealer) and the bare
  app (`bench/bare_app.py`) on the same database at the same time, each endpoint driven in
  turn for a bounded time. Bedside: `POST /api/v1/bedside/verifications` with a
  bearer token, every answer a recorded GO. Bare write: the same bearer-token digest lookup,
  one row read, one row inserted, one transaction. Bare lookup: one indexed read, no auth.
"""


def _ms(entry: dict | None, key: str = "p50") -> str:
    if not entry:
        return "-"
    return f"{entry[key]:.1f}"


def _cell(run: dict | None, path: list[str], fmt=str) -> str:
    value = run
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return "-"
        value = value[key]
    return fmt(value)


def _dates(run: dict) -> str:
    """The run's date, or each step's when they were measured on different days."""
    dates = run.get("step_dates") or {}
    if len(set(dates.values())) <= 1:
        return run.get("date", "-")
    return ", ".join(f"{step} {date}" for step, date in dates.items())


def _parts(parts: dict) -> str:
    return " / ".join(f"{parts[k]:.1f}" for k in
                      ("before_request", "connection", "server", "transfer", "render"))


def _parts_with_redirect(parts: dict) -> str:
    return " / ".join(f"{parts[k]:.1f}" for k in
                      ("before_request", "redirect", "connection", "server", "transfer",
                       "render"))


def _judge(value: float, limit: float, *, at_most: bool = True, unit: str = "") -> str:
    if (value <= limit) if at_most else (value >= limit):
        return f"{value:g}{unit}: met"
    gap = value / limit if at_most else limit / value
    return f"{value:g}{unit}: missed ({gap:.1f}x {'over' if at_most else 'under'})"


def verdicts(get: list[dict]) -> list[str]:
    """SPEC 9, target by target: met, or by how much it is missed (bench/NOTES.md says why)."""
    out = []
    for r in get:
        name, big = f"{r['engine']} {r['bags']:,} bags", r["bags"] >= 1_000_000
        found = []
        if big and "bedside" in r:
            found.append("bedside p95 " + _judge(r["bedside"]["p95"], 25, unit=" ms"))
            small = next((o for o in get if o["engine"] == r["engine"]
                          and o["bags"] == 10_000 and "bedside" in o), None)
            if small:
                found.append("bedside p95 vs 10,000 bags " + _judge(
                    round(r["bedside"]["p95"] / small["bedside"]["p95"], 2), 1.5, unit="x"))
        if big and "trace" in r:
            found.append("donor trace p50 " + _judge(r["trace"]["p50"], 100, unit=" ms"))
        if big and r.get("pages"):
            worst_label, worst = max(r["pages"].items(), key=lambda item: item[1]["p95"])
            found.append(f"slowest list ({worst_label}) p95 "
                         + _judge(worst["p95"], 150, unit=" ms"))
            failed = sorted(label for label, page in r["pages"].items()
                            if page.get("status", 200) != 200)
            if failed:
                found.append("pages that did not answer 200: " + ", ".join(failed))
        if big and "audit_verify" in r and r.get("counts"):
            per_million = r["audit_verify"]["seconds"] / r["counts"]["audit_entry"] * 1e6
            found.append(("audit chain OK" if r["audit_verify"]["ok"] else "audit chain BROKEN")
                         + ", " + _judge(round(per_million, 1), 15, unit=" s per million"))
        if "audit_verify_quick" in r:
            found.append("audit check since the last checkpoint "
                         + _judge(r["audit_verify_quick"]["seconds"], 1, unit=" s"))
        if "labels_pdf" in r:
            found.append("100-label PDF " + _judge(r["labels_pdf"]["seconds"], 3, unit=" s"))
        if big and r.get("browser", {}).get("in_place"):
            found.append("nurse's Enter to decision in Chromium p95 "
                         + _judge(r["browser"]["in_place"]["p95"], 100, unit=" ms"))
        if "load" in r:
            found.append("throughput / bare write "
                         + _judge(r["load"]["ratio_to_bare_write"], 0.25, at_most=False))
        if found:
            out.append(f"- {name}: " + "; ".join(found) + ".")
    return out


def write_report(results: dict, target: Path) -> None:
    runs = results["runs"]
    keys = sorted(runs, key=lambda k: (runs[k]["engine"] != "sqlite", runs[k]["bags"]))
    heads = [f"{runs[k]['engine']} {runs[k]['bags']:,} bags" for k in keys]
    lines = ["# Benchmark results (SPEC 9)", ""]
    m = results["machine"]
    lines += [
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gb']} GB memory; SQLite "
        f"{m['sqlite']}, PostgreSQL {m['postgresql']}, Python {m['python']}, load generator "
        f"{m['wrk']}, browser {m.get('chromium', 'not recorded')}. Load average when the run "
        f"started: {m['load_at_start']} (the machine is "
        f"shared: other work ran beside the bench). Migration head {results['head']}; run of "
        f"{results['started']}.", "",
        "| measure | target | " + " | ".join(heads) + " |",
        "|---|---|" + "---|" * len(keys),
    ]

    def row(label: str, goal: str, cells: list[str]) -> None:
        lines.append(f"| {label} | {goal} | " + " | ".join(cells) + " |")

    get = [runs[k] for k in keys]
    row("measured on", "", [_dates(r) for r in get])
    row("build: `flask seed-scale` (s)", "minutes",
        [_cell(r, ["build", "seed_seconds"]) for r in get])
    row("bags / patients / lots", "",
        [_cell(r, ["counts"], lambda c: f"{c['bag']:,} / {c['patient']:,} / {c['lot']:,}")
         for r in get])
    row("audit entries / infusions", "",
        [_cell(r, ["counts"], lambda c: f"{c['audit_entry']:,} / {c['infusion']:,}")
         for r in get])
    row("bedside verification p50 / p95 (ms)", "p95 <= 25",
        [_cell(r, ["bedside"], lambda b: f"{b['p50']:.1f} / {b['p95']:.1f}") for r in get])
    row("bedside verification: queries, GO answers", "bounded",
        [_cell(r, ["bedside"], lambda b: f"{b['queries']}, {b['go']}/{b['calls']}")
         for r in get])
    cells = []
    for r in get:
        small = next((o for o in get if o["engine"] == r["engine"] and o["bags"] == 10_000), None)
        if r["bags"] == 10_000 or not small or "bedside" not in r or "bedside" not in small:
            cells.append("-")
        else:
            cells.append(f"p50 {r['bedside']['p50'] / small['bedside']['p50']:.2f}x, "
                         f"p95 {r['bedside']['p95'] / small['bedside']['p95']:.2f}x")
    row("bedside cost vs 10,000 bags", "<= 1.5x", cells)
    row("trace of a donor with 100 bags p50 (ms)", "<= 100",
        [_cell(r, ["trace"], lambda t: f"{t['p50']:.1f} ({t['bags']} bags)") for r in get])
    row("trace: SQL queries", "bounded", [_cell(r, ["trace", "queries"]) for r in get])
    pages = next((r["pages"] for r in get if "pages" in r), {})
    for label in pages:
        row(f"{label} p50 / p95 (ms), queries", "<= 150",
            [_cell(r, ["pages", label],
                   lambda p: f"{p['p50']:.1f} / {p['p95']:.1f}, {p['queries']}q") for r in get])
    row("PDF of 100 bag labels (s)", "<= 3", [_cell(r, ["labels_pdf", "seconds"]) for r in get])
    row("`flask audit verify` (s), whole chain", "1,000,000 entries <= 15",
        [_cell(r, ["audit_verify"],
               lambda a: f"{a['seconds']} ({'OK' if a['ok'] else 'FAILED'})") for r in get])
    row("audit check since the last signed checkpoint (s), in process", "<= 1",
        [_cell(r, ["audit_verify_quick"],
               lambda a: f"{a['seconds']} ({'OK' if a['ok'] else 'FAILED'})") for r in get])
    row("bedside page in Chromium: Enter on the bag scan to decision shown p50 / p95 (ms)",
        "p95 <= 100 at 1,000,000",
        [_cell(r, ["browser", "in_place"], lambda b: f"{b['p50']:.1f} / {b['p95']:.1f}")
         for r in get])
    row("bedside page: p50 parts (ms): script, connection, server, transfer, render", "",
        [_cell(r, ["browser", "in_place", "parts_p50"], _parts) for r in get])
    row("bedside page: GO answers, stylesheet and script fetched over the network", "",
        [_cell(r, ["browser", "in_place"],
               lambda b: f"{b['go']}/{b['n']}, {b['assets_from_network']}") for r in get])
    row("plain form (POST, redirect, GET) p50 / p95 (ms)", "reported",
        [_cell(r, ["browser", "plain_form"], lambda b: f"{b['p50']:.1f} / {b['p95']:.1f}")
         for r in get])
    row("plain form: p50 parts (ms): unload, redirect, connection, server, transfer, render",
        "", [_cell(r, ["browser", "plain_form", "parts_p50"], _parts_with_redirect)
             for r in get])
    row("load: bedside verification (req/s)", "",
        [_cell(r, ["load", "bedside", "rps"]) for r in get])
    row("load: bare write (req/s)", "", [_cell(r, ["load", "bare_write", "rps"]) for r in get])
    row("load: bare lookup (req/s)", "", [_cell(r, ["load", "bare_lookup", "rps"]) for r in get])
    row("load: bedside / bare write", ">= 0.25",
        [_cell(r, ["load", "ratio_to_bare_write"]) for r in get])
    row("load: bedside / bare lookup", "reported",
        [_cell(r, ["load", "ratio_to_bare_lookup"]) for r in get])
    row("load: non-2xx answers (bedside, write, lookup)", "0",
        [_cell(r, ["load"], lambda x: f"{x['bedside']['non_2xx']}, {x['bare_write']['non_2xx']},"
               f" {x['bare_lookup']['non_2xx']}") for r in get])
    lines += ["", "## Targets, run by run", "", *verdicts(get)]
    errors = [(k, runs[k]["error"]) for k in keys if runs[k].get("error")]
    if errors:
        lines += ["", "Runs that failed:", ""] + [f"- {k}: {e}" for k, e in errors]
    lines += ["", HARNESS]
    target.write_text("\n".join(lines) + "\n")
