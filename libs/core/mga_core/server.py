"""Run an ASGI app with uvicorn, in one or several worker processes, until SIGTERM."""

import os
import tempfile

import uvicorn
from fastapi import FastAPI

# In-flight requests get this long after SIGTERM before the process exits.
_GRACEFUL_SHUTDOWN_SECONDS = 20


def serve(app: FastAPI, *, host: str, port: int) -> None:
    """Serve ``app`` in this process until SIGINT or SIGTERM; its lifespan starts workers."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECONDS,
    )
    uvicorn.Server(config).run()


def serve_workers(factory: str, *, host: str, port: int, workers: int) -> None:
    """Serve the app that the import string ``factory`` builds, in ``workers`` processes.

    Each worker counts its own metrics into a shared multiprocess folder, so ``/metrics`` on
    any worker reports the sum of all of them.
    """
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mga-metrics-")
    uvicorn.run(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECONDS,
    )
