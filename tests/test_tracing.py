"""One OpenTelemetry trace per text: webhook, read, decision, answer accepted.

The steps happen in three transactions (and could happen in three processes); they join one
trace because its ids are derived from the MessageSid (app/kit/tracing.py).
"""

from __future__ import annotations

import subprocess
import sys

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.kit.tracing import TextTracer, root_span_id_for, trace_id_for
from app.sms.worker import drain_once
from tests.helpers import text_in

SID = "SM" + "7" * 32


def test_one_text_is_one_trace_of_four_steps(client):
    rt = client.app.state.runtime
    assert rt.tracer is None  # TEXTLINE_OTEL_ENDPOINT unset
    exporter = InMemorySpanExporter()
    rt.tracer = TextTracer(exporter, batch=False)
    try:
        assert text_in(client, "lad about 14 with two older men on platform 4 at leeds now",
                       "+447700900401", sid=SID).status_code == 200
        assert drain_once(rt) > 0
    finally:
        rt.tracer.shutdown()
        rt.tracer = None
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {"webhook", "read", "decision", "answer accepted"}, list(spans)
    root = spans["webhook"]
    assert root.parent is None
    assert root.context.trace_id == trace_id_for(SID)
    assert root.context.span_id == root_span_id_for(SID)
    for name in ("read", "decision", "answer accepted"):
        span = spans[name]
        assert span.context.trace_id == root.context.trace_id, name
        assert span.parent is not None and span.parent.span_id == root.context.span_id, name
        assert span.attributes["messaging.message.id"] == SID
    # In the order a passenger lives them; the decision is made within the reading.
    assert root.end_time <= spans["read"].start_time <= spans["decision"].start_time
    assert spans["decision"].end_time <= spans["read"].end_time
    assert spans["read"].end_time <= spans["answer accepted"].end_time
    assert spans["decision"].attributes["decision"] == "999"
    assert spans["decision"].attributes["rule"]
    # Nothing of the texter's: no words, no number.
    for span in spans.values():
        assert "+4477" not in str(dict(span.attributes or {}))
        assert "platform" not in str(dict(span.attributes or {}))


def test_unset_tracing_imports_no_opentelemetry_sdk(tmp_path):
    code = ("import sys\n"
            "from app.main import create_app\n"
            "from app.kit.config import Settings\n"
            f"app = create_app(Settings(database_url='sqlite:///{tmp_path}/t.db'))\n"
            "assert app.state.runtime.tracer is None\n"
            "loaded = sorted(m for m in sys.modules if m.startswith('opentelemetry.sdk'))\n"
            "assert not loaded, loaded\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path.parent, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
