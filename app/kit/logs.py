"""Logs: one JSON object a line for machines, a readable line on a terminal; each with the
request id, and phone numbers masked."""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Anything that looks like an international or UK phone number.
_PHONE = re.compile(r"(?<![\w+])(\+?\d[\d ]{7,}\d)(?!\w)")


def mask_phone(phone: str | None) -> str:
    """'+447700900123' -> '+44770090****': enough to tell numbers apart, not to call one."""
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    return digits[:-4] + "****"


def mask_phones_in(text: str) -> str:
    return _PHONE.sub(lambda m: mask_phone(m.group(1).replace(" ", "")), text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": mask_phones_in(record.getMessage()),
        }
        rid = request_id_var.get()
        if rid:
            entry["request_id"] = rid
        for key, value in getattr(record, "fields", {}).items():
            entry[key] = mask_phones_in(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = mask_phones_in(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """'14:03:11 WARNING textline.outbox: send failed case=3 [req-1]', for a person reading."""

    def format(self, record: logging.LogRecord) -> str:
        rid = request_id_var.get()
        fields = " ".join(f"{k}={v}" for k, v in getattr(record, "fields", {}).items())
        clock = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        line = f"{clock} {record.levelname:<7} {record.name}: {record.getMessage()} {fields}".rstrip()
        if rid:
            line += f" [{rid}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return mask_phones_in(line)


def resolve_format(fmt: str, stream: TextIO) -> str:
    """'auto' is text where the lines land on a terminal, JSON elsewhere."""
    if fmt != "auto":
        return fmt
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return "json"


def configure_logging(level: str = "INFO", fmt: str = "auto", stream: TextIO | None = None) -> None:
    out = stream or sys.stderr
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter() if resolve_format(fmt, out) == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access", "twilio.http_client", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log_fields(**fields: object) -> dict[str, dict[str, object]]:
    """logger.info("msg", extra=log_fields(case=3)) attaches structured fields."""
    return {"fields": fields}
