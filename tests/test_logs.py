import io
import json
import logging
import os
import pty
import re
import sys

from app.kit.logs import (
    JsonFormatter,
    TextFormatter,
    configure_logging,
    log_fields,
    mask_phone,
    mask_phones_in,
    request_id_var,
    resolve_format,
)


def test_mask_phone_keeps_enough_to_tell_apart():
    assert mask_phone("+447700900123") == "+44770090****"
    assert mask_phone("123") == "***"
    assert mask_phone(None) == ""


def test_phone_numbers_masked_anywhere_in_a_log_line():
    line = mask_phones_in("from +447700900123 to 07700 900456 ref TL-261128-0042")
    assert "900123" not in line and "900456" not in line
    assert "TL-261128-0042" in line


def test_json_log_carries_request_id_and_masks_fields():
    token = request_id_var.set("req-1")
    try:
        record = logging.LogRecord("t", logging.INFO, __file__, 1, "text from +447700900123",
                                   None, None)
        record.fields = log_fields(phone="+447700900999")["fields"]
        entry = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert entry["request_id"] == "req-1"
    assert "900123" not in entry["msg"] and "900999" not in entry["phone"]


def _record(msg: str) -> logging.LogRecord:
    return logging.LogRecord("textline.test", logging.WARNING, __file__, 1, msg, None, None)


def test_auto_format_is_text_on_a_terminal_and_json_elsewhere(tmp_path):
    master, slave = pty.openpty()
    try:
        with open(slave, "w", closefd=False) as terminal, open(tmp_path / "log", "w") as file:
            assert resolve_format("auto", terminal) == "text"
            assert resolve_format("auto", file) == "json"
            assert resolve_format("json", terminal) == "json"  # TEXTLINE_LOG_FORMAT wins
            assert resolve_format("text", file) == "text"
    finally:
        os.close(slave)
        os.close(master)


def test_configured_text_logs_are_readable_lines_with_phones_masked():
    stream = io.StringIO()
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    try:
        configure_logging("INFO", "text", stream)
        logging.getLogger("textline.test").warning("texted by +447700900123",
                                                   extra=log_fields(case=3))
    finally:
        root.handlers[:], root.level = saved, level
    line = stream.getvalue().strip()
    assert re.fullmatch(r"\d\d:\d\d:\d\d WARNING textline.test: texted by \+44770090\*{4} case=3",
                        line), line
    assert not line.startswith("{")


def test_text_lines_carry_the_exception_masked():
    try:
        raise ValueError("bad number +447700900123")
    except ValueError:
        record = _record("failed")
        record.exc_info = sys.exc_info()
    out = TextFormatter().format(record)
    assert "ValueError: bad number +44770090****" in out and "900123" not in out
