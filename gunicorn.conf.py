"""gunicorn settings for `make run`; production overrides them on the command line or by env."""

import os

bind = os.environ.get("BIND", "127.0.0.1:5000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
timeout = 60
accesslog = "-"


def post_worker_init(worker):
    """Each worker seals committed audit entries in the background (SPEC 5), and keeps its
    start-up objects out of the garbage collector's full passes."""
    from ucmsc_lims import freeze_startup_heap
    from ucmsc_lims.core.sealer import start_sealer_thread

    start_sealer_thread(worker.wsgi)
    freeze_startup_heap()
