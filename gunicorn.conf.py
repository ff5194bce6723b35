"""gunicorn settings for `make run`; production overrides them on the command line or by env.

Threaded workers (`gthread`) keep connections alive: a sync worker answers `Connection: close`,
so every page, stylesheet and script a bedside tablet asks for opened a new connection first
(SPEC 9 "What a nurse feels"). One worker per core, as before, since Python runs one thread at
a time per worker; two threads in each let a request that waits on the database (a PostgreSQL
round trip, SQLite's fsync) step aside for another. More threads did not answer more requests
on 2 cores, and on SQLite they only queue more writers on its one write lock. Idle kept-alive
connections wait in the worker's poller, not in a thread.
"""

import os

bind = os.environ.get("BIND", "127.0.0.1:5000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "2"))
# Longer than the pause between two scans at the bedside, so the bag scan finds its connection
# open; behind a reverse proxy, keep it above the proxy's own upstream keep-alive.
keepalive = int(os.environ.get("WEB_KEEPALIVE", "75"))
timeout = 60
accesslog = "-"


def post_worker_init(worker):
    """Each worker seals committed audit entries in the background (SPEC 5), and keeps its
    start-up objects out of the garbage collector's full passes. Runs once per worker process,
    whatever its number of threads."""
    from ucmsc_lims import freeze_startup_heap
    from ucmsc_lims.core.sealer import start_sealer_thread

    start_sealer_thread(worker.wsgi)
    freeze_startup_heap()
    worker.log.info("worker %s: audit sealer started", worker.pid)
