"""Throughput under load on loopback (SPEC 9): gunicorn with the product's workers
(gunicorn.conf.py, through bench/gunicorn_bench.py) serving the product and, beside it on the
same database, the bare app (bench/bare_app.py); each endpoint driven for a bounded time by wrk,
or by a small threaded Python client where wrk is not available."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from .databases import ROOT, BenchDatabase

DURATION = int(os.environ.get("BENCH_LOAD_SECONDS", "15"))
CONNECTIONS = int(os.environ.get("BENCH_LOAD_CONNECTIONS", "4"))
PRODUCT_PORT, BARE_PORT = 5099, 5098


def ensure_wrk(log) -> str | None:
    """wrk, installed from Debian's archive when missing and allowed (BENCH_INSTALL_WRK=0
    forbids it); None means the Python client will be used."""
    found = shutil.which("wrk")
    if found or os.environ.get("BENCH_INSTALL_WRK", "1") != "1" or os.geteuid() != 0:
        return found
    log("wrk not found: installing Debian's wrk with apt-get")
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True)
    return shutil.which("wrk")


def _serve(database: BenchDatabase, module: str, port: int, sealer: bool) -> subprocess.Popen:
    env = {**database.env(), "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2",
           "BENCH_SEALER": "1" if sealer else "0"}
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "bench" / "gunicorn_bench.py"),
         module], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True)


def _wait(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError as error:
            if getattr(error, "code", None):  # an HTTP error still means it answers
                return
            time.sleep(0.3)
    raise RuntimeError(f"no answer from {url}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _lua(method: str, paths: list[str], bodies: list[str], headers: dict) -> str:
    quoted = lambda items: "{" + ",".join(json.dumps(i) for i in items) + "}"  # noqa: E731
    header_lua = "{" + ",".join(f'[{json.dumps(k)}]={json.dumps(v)}'
                                for k, v in headers.items()) + "}"
    return f"""
local paths = {quoted(paths)}
local bodies = {quoted(bodies)}
local headers = {header_lua}
local i = 0
request = function()
  i = i % #paths + 1
  local body = nil
  if #bodies > 0 then body = bodies[i] end
  return wrk.format("{method}", paths[i], headers, body)
end
"""


def _run_wrk(wrk: str, port: int, script: str) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        done = subprocess.run(
            [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{DURATION}s", "-s", handle.name,
             f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True)
    finally:
        Path(handle.name).unlink()
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", done.stdout)
    total = int(re.search(r"(\d+) requests in", done.stdout).group(1))
    return {"rps": round(rate, 1), "requests": total, "non_2xx": int(bad.group(1)) if bad else 0}


def _run_python(port: int, method: str, paths: list[str], bodies: list[str],
                headers: dict) -> dict:
    """A bounded threaded client (keep-alive where the server allows it)."""
    stop_at = time.monotonic() + DURATION
    counts = {"ok": 0, "bad": 0}
    lock = threading.Lock()

    def worker(offset: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i, ok, bad = offset, 0, 0
        while time.monotonic() < stop_at:
            body = bodies[i % len(bodies)] if bodies else None
            connection.request(method, paths[i % len(paths)], body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            ok, bad = (ok + 1, bad) if response.status < 400 else (ok, bad + 1)
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
            i += 1
        with lock:
            counts["ok"] += ok
            counts["bad"] += bad

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = counts["ok"] + counts["bad"]
    return {"rps": round(total / DURATION, 1), "requests": total, "non_2xx": counts["bad"]}


def run_load(database: BenchDatabase, measured: dict, log) -> dict:
    wrk = ensure_wrk(log)
    bodies = measured["bedside_bodies"]
    auth = measured["nurse_header"]
    from .bare_app import create_table

    create_table(database.url)
    product = _serve(database, "app:app", PRODUCT_PORT, sealer=True)
    bare = _serve(database, "bench.bare_app:app", BARE_PORT, sealer=False)
    try:
        _wait(f"http://127.0.0.1:{PRODUCT_PORT}/health", product)
        _wait(f"http://127.0.0.1:{BARE_PORT}/bare/lookup/none", bare)
        json_headers = {"Content-Type": "application/json", "Authorization": auth}
        cases = {
            "bedside": (PRODUCT_PORT, "POST", ["/api/v1/bedside/verifications"],
                        [json.dumps(b) for b in bodies], json_headers),
            "bare_write": (BARE_PORT, "POST", ["/bare/write"],
                           [json.dumps({"patient_code": b["patient_code"]}) for b in bodies],
                           json_headers),
            "bare_lookup": (BARE_PORT, "GET",
                            [f"/bare/lookup/{b['patient_code']}" for b in bodies], [], {}),
        }
        out: dict = {"client": f"wrk ({CONNECTIONS} connections)" if wrk
                     else f"Python threads ({CONNECTIONS})", "seconds": DURATION}
        for name, (port, method, paths, payloads, headers) in cases.items():
            if len(payloads) and len(paths) == 1:
                paths = paths * len(payloads)
            if wrk:
                out[name] = _run_wrk(wrk, port, _lua(method, paths, payloads, headers))
            else:
                out[name] = _run_python(port, method, paths, payloads, headers)
            log(f"  load {name}: {out[name]}")
        out["ratio_to_bare_write"] = round(out["bedside"]["rps"] / out["bare_write"]["rps"], 3)
        out["ratio_to_bare_lookup"] = round(out["bedside"]["rps"] / out["bare_lookup"]["rps"], 3)
        return out
    finally:
        _stop(product)
        _stop(bare)
