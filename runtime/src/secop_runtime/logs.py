"""JSON logs carrying the service, instance and correlation id of every line."""

from __future__ import annotations

import logging
import sys

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from secop_runtime import context
from secop_runtime.redaction import safe_traceback, withholds


class _ContextFilter(logging.Filter):
    def __init__(self, service: str, instance: str) -> None:
        super().__init__()
        self.service, self.instance = service, instance

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.instance = self.instance
        record.correlation_id = context.correlation_id.get()
        # The line's trace, so an operator goes from a log line to its whole trace and back.
        span = trace.get_current_span().get_span_context()
        record.trace_id = format(span.trace_id, "032x") if span.is_valid else None
        if record.exc_info and withholds(record.exc_info[1]):
            # A database's or pydantic's refusal repeats the values refused (emails, names):
            # the traceback keeps every frame and names the error by type and code only.
            record.exc_text = safe_traceback(record.exc_info[1])  # type: ignore[arg-type]
            record.exc_info = None
        return True


#: aiokafka logs these at ERROR, then retries and recovers on its own: a broker starting or
#: restarting, a group moving between coordinators. They reach operators as WARNING; what is
#: left at ERROR needs a person. Readiness (503 while Kafka is unreachable) shows the lasting case.
TRANSIENT_KAFKA = (
    "GroupCoordinatorNotAvailable",
    "NotCoordinatorForGroup",
    "CoordinatorLoadInProgress",
    "RebalanceInProgress",
    "NodeNotReady",
    "RequestTimedOut",
    "KafkaConnectionError",
    "Unable connect to",
    "Unable to update metadata",
    "Failed fetch messages from",
    "Failed fetch offsets from",
    "FindCoordinator Request failed",
    "Heartbeat session expired",
)


class _TransientKafkaErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and record.name.startswith("aiokafka"):
            text = record.getMessage()
            if any(marker in text for marker in TRANSIENT_KAFKA):
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def configure_logging(service: str, instance: str, level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(_ContextFilter(service, instance))
    handler.addFilter(_TransientKafkaErrors())
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(instance)s "
                "%(correlation_id)s %(trace_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)s %(service)s [%(correlation_id)s] %(message)s"
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request's full URL at INFO: a query may hold an email or a link's token.
    for noisy in ("aiokafka", "pymongo", "uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel("WARNING")
