"""Log set-up for every taskvisor service: text lines for people, or one
JSON object a line (``--log-format json``) for log shippers. Fields passed
with ``extra=`` (request_id, project_id, task_id, resource_id, host, …) are
appended to text lines as ``key=value`` and become keys in JSON."""
from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import time

# Attributes every LogRecord has; anything else came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def _extras(record: logging.LogRecord) -> dict:
    fields = record.__dict__
    if not fields.keys() - _STANDARD:  # the set difference runs in C: most lines have no extras
        return {}
    return {k: v for k, v in fields.items() if k not in _STANDARD and v is not None}


class TextFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._stamp: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        # one strftime per second, not per line (the API writes a line per request)
        second = int(record.created)
        stamp = self._stamp
        if stamp[0] != second:
            stamp = self._stamp = (second, time.strftime(self.default_time_format, self.converter(record.created)))
        return self.default_msec_format % (stamp[1], record.msecs)

    def format(self, record: logging.LogRecord) -> str:
        # logging.Formatter.format's line, made directly (no style lookups)
        record.message = record.getMessage()
        line = f"{self.formatTime(record)} {record.levelname} {record.name}: {record.message}"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += ("" if line[-1:] == "\n" else "\n") + record.exc_text
        if record.stack_info:
            line += ("" if line[-1:] == "\n" else "\n") + self.formatStack(record.stack_info)
        extras = _extras(record)
        if extras:
            line += " [" + " ".join([f"{k}={v}" for k, v in extras.items()]) + "]"
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"timestamp": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
               "level": record.levelname, "logger": record.name, "message": record.getMessage(),
               "process": record.process, **_extras(record)}
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def setup(level: int = logging.INFO, fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    # Neither formatter shows the thread or the multiprocessing process name:
    # a record need not look them up (calls per line; the engine writes
    # several lines per task). ``process`` stays: the JSON lines carry it.
    logging.logThreads = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
