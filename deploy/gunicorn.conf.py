"""gunicorn settings for the CRM (`gunicorn --config deploy/gunicorn.conf.py wsgi:app`).

Read from the environment: PORT or GUNICORN_BIND (where to listen), WEB_CONCURRENCY (workers),
FORWARDED_ALLOW_IPS (the reverse proxy's address). See docs/deployment.md.
"""

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
