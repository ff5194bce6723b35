"""gunicorn settings for the load runs: the product's workers as gunicorn.conf.py sets them (worker
class, threads, keep-alive; the audit sealer in each worker) without the access log, so both
apps under test pay the same for logging: nothing."""

import os
import runpy
from pathlib import Path

_product = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))

bind = os.environ.get("BIND", "127.0.0.1:5099")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = _product["worker_class"]
threads = _product["threads"]
keepalive = _product["keepalive"]
timeout = 60
accesslog = None
errorlog = "-"
loglevel = "warning"


def post_worker_init(worker):
    if os.environ.get("BENCH_SEALER") == "1":  # the product app, as gunicorn.conf.py runs it
        from ucmsc_lims import freeze_startup_heap
        from ucmsc_lims.core.sealer import start_sealer_thread

        start_sealer_thread(worker.wsgi)
        freeze_startup_heap()
