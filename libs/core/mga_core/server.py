"""Run an ASGI app with uvicorn and stop it cleanly on SIGTERM."""

import uvicorn
from fastapi import FastAPI


def serve(app: FastAPI, *, host: str, port: int) -> None:
    """Serve ``app`` until SIGINT or SIGTERM; the app's lifespan starts and stops workers."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        # Bounded shutdown: in-flight requests get this long before the process exits.
        timeout_graceful_shutdown=20,
    )
    uvicorn.Server(config).run()
