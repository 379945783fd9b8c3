import json
import logging

from app.kit.logs import JsonFormatter, log_fields, mask_phone, mask_phones_in, request_id_var


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
