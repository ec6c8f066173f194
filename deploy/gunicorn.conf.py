"""gunicorn settings for the CRM (`gunicorn --config deploy/gunicorn.conf.py wsgi:app`).

Read from the environment: PORT or GUNICORN_BIND (where to listen), WEB_CONCURRENCY (workers),
FORWARDED_ALLOW_IPS (the reverse proxy's address). See docs/deployment.md.
"""

import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", str(min(2 * multiprocessing.cpu_count() + 1, 8))))
# Sync workers: every request is short; a slow export ties up one worker, not the others.
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# Only the reverse proxy may set X-Forwarded-*; the app's ProxyFix (PROXY_FIX_HOPS) reads them.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
# Each worker opens its own database connections after the fork.
preload_app = False

# --- garbage collection in each worker ------------------------------------------------------
# A loaded worker holds about 190,000 objects that live as long as it does (SQLAlchemy's mappers
# and statement cache, compiled templates, translations). Each full collection walks all of
# them, about 100 ms on a 2-core machine, and the request being served waits through it. The
# objects alive once the app is loaded, and again once the first requests have filled the
# caches, are moved out of the collector's reach (gc.freeze). A larger first threshold lets most
# of a request's short-lived objects die before a collection looks at them, so fewer are
# promoted to the older generations. Measured by bench/gc_pauses.py (bench/README.md).
GC_YOUNG_THRESHOLD = 2000
GC_SETTLED_AFTER = 200  # requests


def post_worker_init(worker):
    gc.collect()
    gc.freeze()
    _young, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def post_request(worker, req, environ, resp):
    if worker.nr == GC_SETTLED_AFTER:
        gc.collect(1)  # the young generations' garbage is not frozen with the rest
        gc.freeze()
