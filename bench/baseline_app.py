"""The bare baseline: a FastAPI app that only parses the webhook's form and answers empty TwiML.

    .venv/bin/python bench/baseline_app.py --port 8001 [--workers 1]

Served exactly as `textline serve` serves the real app (uvicorn, same options), so the ratio of
the two measures what Textline's own work costs: the signature check, the transaction, the
conversation engine, the dispatcher and the audit log.
"""

from __future__ import annotations

import argparse
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request, Response

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def create_app() -> FastAPI:
    app = FastAPI(title="baseline")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/webhooks/twilio/sms")
    async def inbound(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
        if not form.get("MessageSid") or not form.get("From"):
            return Response("bad form\n", status_code=400)
        return Response(EMPTY_TWIML, media_type="text/xml")

    return app


def main() -> None:
    import uvicorn

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8001)
    p.add_argument("--workers", type=int, default=1)
    args = p.parse_args()
    # The same call as app/cli.py's cmd_serve.
    uvicorn.run("bench.baseline_app:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_config=None, proxy_headers=True,
                server_header=False, access_log=False)


if __name__ == "__main__":
    main()
