"""One OpenTelemetry trace per text, when TEXTLINE_OTEL_ENDPOINT is set.

A text's path crosses transactions, threads and processes (the webhook commits it, a processor
anywhere reads it, a sender anywhere has it accepted), so no in-process context can carry its
trace. Its ids are derived from its MessageSid instead: the trace id and the root ("webhook")
span's id are hashes of it, and every later step names that root as its parent. Nothing is
stored with the inbound row, and a step recorded by another process, or after a restart, still
joins the same trace.

Each step is recorded after the fact with its own start and end (span()), so callers hold no
span open across a commit. Unset, Runtime.tracer is None and this module imports nothing of
OpenTelemetry (the SDK and the exporter are the `otel` extra).
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
from typing import Any

log = logging.getLogger("textline.tracing")

SERVICE_NAME = "textline"


def trace_id_for(sid: str) -> int:
    """The 128-bit trace id of the text with this MessageSid (never 0, which is invalid)."""
    return int.from_bytes(hashlib.sha256(b"trace:" + sid.encode()).digest()[:16], "big") or 1


def root_span_id_for(sid: str) -> int:
    """The 64-bit id of the text's "webhook" span, the parent of its other steps."""
    return int.from_bytes(hashlib.sha256(b"webhook:" + sid.encode()).digest()[:8], "big") or 1


class TextTracer:
    """Records the steps of texts' traces through an OpenTelemetry tracer provider."""

    def __init__(self, exporter: Any, *, batch: bool = True) -> None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
        from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

        random_ids = RandomIdGenerator()
        # The root span's ids, for the one start_span() call that makes it; random otherwise.
        self._next: contextvars.ContextVar[tuple[int, int] | None] = contextvars.ContextVar(
            "textline_next_ids", default=None)
        forced = self._next

        class _DerivedIds(RandomIdGenerator):
            def generate_trace_id(self) -> int:
                ids = forced.get()
                return ids[0] if ids else random_ids.generate_trace_id()

            def generate_span_id(self) -> int:
                ids = forced.get()
                return ids[1] if ids else random_ids.generate_span_id()

        self.provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}),
                                       id_generator=_DerivedIds())
        processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
        self.provider.add_span_processor(processor)
        self._tracer = self.provider.get_tracer("textline")

    def span(self, name: str, sid: str, start_ns: int, end_ns: int, *, root: bool = False,
             **attributes: Any) -> None:
        """One step of the text `sid`'s trace, from start_ns to end_ns (Unix nanoseconds).
        Never raises: a trace is worth less than the text it follows."""
        try:
            self._record(name, sid, start_ns, max(start_ns, end_ns), root, attributes)
        except Exception:
            log.exception("span not recorded", extra={"span": name})

    def _record(self, name: str, sid: str, start_ns: int, end_ns: int, root: bool,
                attributes: dict[str, Any]) -> None:
        from opentelemetry import context, trace

        attributes = {k: v for k, v in attributes.items() if v is not None}
        attributes["messaging.message.id"] = sid
        trace_id = trace_id_for(sid)
        if root:
            token = self._next.set((trace_id, root_span_id_for(sid)))
            try:
                span = self._tracer.start_span(name, context=context.Context(),
                                               start_time=start_ns, attributes=attributes)
            finally:
                self._next.reset(token)
        else:
            parent = trace.NonRecordingSpan(trace.SpanContext(
                trace_id, root_span_id_for(sid), is_remote=True,
                trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED)))
            span = self._tracer.start_span(name, context=trace.set_span_in_context(parent),
                                           start_time=start_ns, attributes=attributes)
        span.end(end_time=end_ns)

    def shutdown(self) -> None:
        self.provider.shutdown()  # flushes what the batch processor still holds


def tracer_for(endpoint: str | None) -> TextTracer | None:
    """The OTLP/HTTP tracer for TEXTLINE_OTEL_ENDPOINT, or None (and no import) when unset."""
    if not endpoint:
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        from app.kit.config import ConfigError

        raise ConfigError("TEXTLINE_OTEL_ENDPOINT is set but OpenTelemetry is not installed: "
                          "pip install 'textline[otel]'") from None
    return TextTracer(OTLPSpanExporter(endpoint=endpoint))
