"""`make bench` (SPEC 9): build or reuse the bench databases, measure, write bench/RESULTS.md.

Sizes come from BENCH_SIZES (default "10000 1000000", smallest first) and engines from
BENCH_ENGINES (default "sqlite postgresql"). Each step's numbers are written as soon as they
exist, so a long run that stops half-way still leaves its results. BENCH_STEPS (default
"measure browser load") chooses the steps: in-process server times (measure.py), the bedside
page in Chromium (browser.py), throughput under load (load.py); a step not run keeps its last
numbers, e.g. `BENCH_STEPS=browser BENCH_SIZES=1000000 make bench` measures only what a nurse
feels at 1,000,000 bags on a database already built.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
import traceback
from pathlib import Path

import sqlalchemy as sa

from .browser import chromium_version, measure_bedside_page
from .databases import PG_SERVER_URL, ROOT, BenchDatabase, migration_head, size_label
from .load import ensure_wrk, run_load
from .measure import bedside_client, measure
from .report import write_report

RESULTS = ROOT / "bench" / "RESULTS.md"
RAW = ROOT / "bench" / "data" / "results.json"
STEPS = ("measure", "browser", "load")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def machine(wrk: str | None) -> dict:
    """The machine, read after the load generator is installed (so its version is known)."""
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory_kb = next(int(line.split()[1]) for line in
                     Path("/proc/meminfo").read_text().splitlines()
                     if line.startswith("MemTotal"))
    try:
        engine = sa.create_engine(PG_SERVER_URL)
        with engine.connect() as conn:
            postgres = conn.scalar(sa.text("SHOW server_version"))
        engine.dispose()
    except sa.exc.OperationalError:
        postgres = "not reachable"
    version = "absent"
    if wrk:  # `wrk --version` prints its version first, then its usage, and exits 1
        done = subprocess.run([wrk, "--version"], capture_output=True, text=True)
        version = next(iter((done.stdout + done.stderr).splitlines()), wrk).strip()
    load = os.getloadavg()
    return {"nproc": os.cpu_count(), "memory_gb": round(memory_kb / 1024 / 1024, 1),
            "cpu": cpu, "sqlite": sqlite3.sqlite_version, "postgresql": postgres,
            "python": platform.python_version(), "wrk": version,
            "chromium": chromium_version(),
            "load_at_start": f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"}


def main() -> int:
    sizes = sorted(int(s) for s in os.environ.get("BENCH_SIZES", "10000 1000000").split())
    engines = os.environ.get("BENCH_ENGINES", "sqlite postgresql").split()
    # Installed first, so the machine line names the wrk that the load runs with.
    wrk = ensure_wrk(log)
    results: dict = {"machine": machine(wrk), "head": migration_head(), "runs": {},
                     "started": time.strftime("%Y-%m-%d %H:%M")}
    if RAW.exists() and os.environ.get("BENCH_KEEP_PREVIOUS", "1") == "1":
        # Sizes not measured in this run keep their last numbers (marked with their date).
        previous = json.loads(RAW.read_text()).get("runs", {})
        results["runs"].update({k: v for k, v in previous.items()})

    failures = 0
    steps = os.environ.get("BENCH_STEPS", " ".join(STEPS)).split()
    for bags in sizes:
        for engine in engines:
            key = f"{engine}:{size_label(bags)}"
            database = BenchDatabase(engine, bags)
            today = time.strftime("%Y-%m-%d")
            run: dict = {"engine": engine, "bags": bags, "date": today,
                         "step_dates": {step: today for step in steps}}
            if set(steps) != set(STEPS):  # the steps not run keep their last numbers
                kept = {k: v for k, v in results["runs"].get(key, {}).items() if k != "error"}
                dates = {**{step: kept.get("date", "-") for step in STEPS},
                         **kept.get("step_dates", {}), **run["step_dates"]}
                run = {**kept, **run, "step_dates": dates}
            try:
                run["build"] = database.ensure(log)
                if "measure" in steps:
                    log(f"measuring {key}")
                    measured = measure(database, log)
                    client = {k: measured.pop(k) for k in ("bedside_bodies", "nurse_header")}
                    run.update(measured)
                else:
                    client = bedside_client(database)
                if "browser" in steps:
                    log(f"bedside page in Chromium, {key}")
                    run["browser"] = measure_bedside_page(database, client["bedside_bodies"],
                                                          log)
                if "load" in steps:
                    run["load"] = run_load(database, client, log)
            except Exception as error:  # keep going: the other sizes still get measured
                failures += 1
                run["error"] = f"{type(error).__name__}: {error}"
                traceback.print_exc()
            results["runs"][key] = run
            RAW.parent.mkdir(parents=True, exist_ok=True)
            RAW.write_text(json.dumps(results, indent=1, default=str))
            write_report(results, RESULTS)
    log(f"results in {RESULTS.relative_to(ROOT)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
