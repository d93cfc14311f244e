"""structlog set-up: JSON lines in production, readable lines in development.

Request, correlation, account, invitation and event ids are bound as context variables at
the HTTP edge or when a message arrives, and every log line carries them.
"""

import logging
import sys

import structlog

from mga_core.settings import LogFormat

# Fields whose values must never reach a log line in clear.
_REDACTED_FIELDS = frozenset(
    {"authorization", "api_key", "secret", "password", "token", "candidate_email"}
)


def _redact(
    _logger: object, _method: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    for field in _REDACTED_FIELDS.intersection(event_dict):
        event_dict[field] = "[redacted]"
    return event_dict


def configure_logging(*, service: str, log_format: LogFormat, level: str = "INFO") -> None:
    """Configure structlog and the standard library to write one line per event to stdout."""
    renderer: structlog.typing.Processor
    if log_format is LogFormat.JSON:
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer()

    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Access logs are written by our own middleware, with ids and route templates.
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("aiormq", "aio_pika", "pymongo"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
