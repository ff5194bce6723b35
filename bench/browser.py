"""What a nurse feels (SPEC 9): the product served as in production (gunicorn.conf.py) on a bench
database, and Debian's Chromium driven through Playwright at /bedside as a nurse with a
keyboard-wedge scanner: every field typed and ended with Enter, the boxes ticked with the space
bar, no mouse. Timed in the page, from the keydown of Enter on the bag scan to the first frame
after the decision entered the page, with the breakdown the browser's own Resource and
Navigation Timing give."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .databases import ROOT, BenchDatabase
from .load import _stop, _wait
from .measure import PASSWORD, summary

PORT = 5097
SCANS = int(os.environ.get("BENCH_BROWSER_SCANS", "100"))
PLAIN_SCANS = int(os.environ.get("BENCH_BROWSER_PLAIN_SCANS", "40"))
WARM = 5
CHROMIUM = Path(os.environ.get("BENCH_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

# Installed in every document before the page's own script. The Enter's time is kept in
# sessionStorage so that it survives the plain form's navigation; the decision is "shown" at
# the end of the first frame after it entered the page (requestAnimationFrame runs just
# before that frame is painted, a task queued from it runs just after).
WATCH = """
(() => {
  const bench = window.__bench = {};
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target && event.target.id === "bag") {
      sessionStorage.setItem("bench-enter", String(performance.timeOrigin + event.timeStamp));
    }
  }, true);
  const decision = () => {
    const status = document.querySelector('[role="status"]');
    const text = status ? status.textContent.trim() : "";
    return text === "GO" || text === "NO-GO" ? text : null;
  };
  new MutationObserver(() => {
    if (bench.entered || !decision()) return;
    bench.entered = performance.timeOrigin + performance.now();
    requestAnimationFrame(() => setTimeout(() => {
      bench.decision = decision();
      bench.shown = performance.timeOrigin + performance.now();
    }, 0));
  }).observe(document, {childList: true, subtree: true});
})();
"""

# Read once the decision is shown: the request that brought it (the fetch, in place; or the
# navigation of the plain form) and the stylesheet and script that went over the network.
COLLECT = """
() => {
  const bench = window.__bench;
  const enter = Number(sessionStorage.getItem("bench-enter"));
  const origin = performance.timeOrigin;
  const fetched = performance.getEntriesByType("resource")
    .filter((e) => e.initiatorType === "fetch").pop();
  const entry = fetched || performance.getEntriesByType("navigation")[0];
  const assets = performance.getEntriesByType("resource")
    .filter((e) => e.initiatorType === "link" || e.initiatorType === "script");
  return {
    path: fetched ? "in place" : "navigation",
    decision: bench.decision,
    total: bench.shown - enter,
    before_request: origin + entry.startTime - enter,
    redirect: entry.redirectEnd - entry.redirectStart,
    connection: entry.connectEnd - entry.connectStart,
    server: entry.responseStart - entry.requestStart,
    transfer: entry.responseEnd - entry.responseStart,
    render: bench.shown - (origin + entry.responseEnd),
    assets_from_network: assets.filter((e) => e.transferSize > 0).length,
  };
}
"""

PARTS = ("before_request", "redirect", "connection", "server", "transfer", "render")


def chromium_version() -> str:
    if not CHROMIUM.exists():
        return "absent"
    done = subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def _serve(database: BenchDatabase, log_file) -> subprocess.Popen:
    """The product as `make run` serves it: gunicorn.conf.py, its workers, threads,
    keep-alive and audit sealer; only the address differs."""
    env = {**database.env(), "BIND": f"127.0.0.1:{PORT}"}
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "app:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log_file,
        start_new_session=True)


def _sign_in(page) -> None:
    page.goto("/login")
    page.get_by_label("Username", exact=True).focus()
    page.keyboard.type("nurse")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)


def _scan(page, body: dict, *, in_place: bool) -> dict:
    """One nurse-1 verification at /bedside, by keyboard only, timed from the bag's Enter."""
    page.goto("/bedside")
    page.wait_for_function("() => document.activeElement?.id === 'wristband'")
    page.keyboard.type(body["patient_code"])
    page.keyboard.press("Enter")
    page.locator(".patient-compare .initials").wait_for()
    page.wait_for_function("() => document.activeElement?.id === 'weight_kg'")
    page.keyboard.type(f"{body['weight_kg']:.1f}")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement?.id === 'bag'")
    for _box in ("bag_intact", "identity_confirmed"):  # back from Bag: the two boxes above it
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    ticked = page.evaluate("[document.getElementById('identity_confirmed').checked, "
                           "document.getElementById('bag_intact').checked, "
                           "document.activeElement.id]")
    if ticked != [True, True, "bag"]:
        raise RuntimeError(f"the keyboard did not tick both boxes and reach Bag: {ticked}")
    if not in_place:  # the plain form: the page's script leaves it alone
        page.evaluate("document.querySelector('form[data-fragment]')"
                      ".removeAttribute('data-fragment')")
    page.keyboard.type(body["bag_code"])
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.__bench?.shown")
    return page.evaluate(COLLECT)


def _summarise(samples: list[dict]) -> dict:
    out = {**summary([s["total"] for s in samples]),
           "go": sum(1 for s in samples if s["decision"] == "GO"),
           "paths": sorted({s["path"] for s in samples}),
           "assets_from_network": sum(s["assets_from_network"] for s in samples)}
    out["parts_p50"] = {part: round(summary([s[part] for s in samples])["p50"], 2)
                        for part in PARTS}
    return out


def measure_bedside_page(database: BenchDatabase, bodies: list[dict], log) -> dict:
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryFile("w+") as server_log:
        server = _serve(database, server_log)
        try:
            _wait(f"http://127.0.0.1:{PORT}/health", server)
            with sync_playwright() as playwright:
                chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                      args=CHROMIUM_ARGS)
                try:
                    context = chromium.new_context(base_url=f"http://127.0.0.1:{PORT}",
                                                   viewport={"width": 1024, "height": 768})
                    context.add_init_script(WATCH)
                    page = context.new_page()
                    page.set_default_timeout(20_000)
                    _sign_in(page)
                    out: dict = {"chromium": chromium.version, "scans": SCANS}
                    for label, count, in_place in (("in_place", SCANS, True),
                                                   ("plain_form", PLAIN_SCANS, False)):
                        samples = [_scan(page, bodies[i % len(bodies)], in_place=in_place)
                                   for i in range(WARM + count)][WARM:]
                        out[label] = _summarise(samples)
                        log(f"  bedside page, {label.replace('_', ' ')}: {out[label]}")
                    context.close()
                finally:
                    chromium.close()
        except Exception:
            server_log.seek(0)
            log(f"  server log: {server_log.read()[-2000:]}")
            raise
        finally:
            _stop(server)
    return out
