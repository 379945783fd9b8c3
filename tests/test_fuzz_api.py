"""Fuzz every operation in our own OpenAPI schema: no input may earn a 500.

The schema is read from an app built without a database (building one touches nothing); the
generated requests are then sent to a real app on each test backend, with data and a token.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings

from app.kit.config import Settings
from app.main import create_app
from tests.helpers import PUBLIC, text_in, token_for

_template = create_app(Settings(database_url="sqlite://", secret_key="schema-only-0123456789"))
schema = schemathesis.openapi.from_dict(_template.openapi())


@schema.parametrize()
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_no_request_earns_a_500(case, app, client):  # type: ignore[no-untyped-def]
    if not getattr(app.state, "fuzz_ready", False):
        text_in(client, "a lad about 14 at leeds station now", phone="+447700900901")
        text_in(client, "another report", phone="+447700900902")
        # Two reports of one fight: incident 1, for the incident operations to reach.
        text_in(client, "fight on platform 2 at york station now", phone="+447700900903")
        text_in(client, "people fighting at york station platform 2", phone="+447700900904")
        app.state.fuzz_headers = token_for(app, "admin")
        app.state.fuzz_ready = True
    kwargs = case.as_transport_kwargs(base_url=PUBLIC)
    headers = {**(kwargs.pop("headers", None) or {}), **app.state.fuzz_headers}
    kwargs.pop("cookies", None)  # none in our schema; the session cookie is not fuzzed here
    if isinstance(kwargs.get("data"), (bytes, str)):  # a form body that is not a mapping
        kwargs["content"] = kwargs.pop("data")
    response = client.request(kwargs.pop("method"), kwargs.pop("url"), headers=headers, **kwargs)
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
    if response.status_code >= 400 and \
            response.headers.get("content-type", "").startswith("application/json"):
        assert isinstance(response.json().get("detail"), str), response.text
