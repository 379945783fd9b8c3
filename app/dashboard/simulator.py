"""/simulator: a phone-shaped page that texts the service as a passenger would.

Each text goes through the real webhook (signed like Twilio's, through the whole app and its
middleware) in-process, so training sees exactly what a passenger would. Only the fictional
range +447700900000-999 may be used, so nobody can text "as" a real reporter into a real case,
and only with the console SMS provider, so no real text is ever sent to a made-up number.
"""

from __future__ import annotations

import secrets

import httpx
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from app.auth.web import PageUser, check_csrf, page_user
from app.dashboard.render import pages
from app.kit.runtime import Runtime
from app.kit.validation import typed_text
from app.models import Case, Message, Reporter
from app.sms.signature import public_request_url, sign, signature_valid
from app.sms.simulate import FICTIONAL_PREFIX, INBOUND_PATH, REPLIES_PATH, fictional, new_sid

router = APIRouter(include_in_schema=False)
Operator = Depends(page_user("operator"))

WEBHOOK = INBOUND_PATH
SHOWN_STATUSES = ("queued", "sending", "sent", "delivered")


def _enabled(rt: Runtime) -> bool:
    return rt.settings.provider == "console"


@router.get("/simulator")
def simulator_page(request: Request, user: PageUser = Operator) -> Response:
    rt: Runtime = request.app.state.runtime
    phone = f"{FICTIONAL_PREFIX}{secrets.randbelow(1000):03d}"
    return pages(request).render("simulator.html", 200 if _enabled(rt) else 409, user=user,
                                 phone=phone, enabled=_enabled(rt))


class SimText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(max_length=32)
    body: typed_text(1600)


@router.post("/simulator/send")
async def simulator_send(request: Request, text: SimText, user: PageUser = Operator) -> Response:
    check_csrf(request, user, None)
    rt: Runtime = request.app.state.runtime
    if not _enabled(rt):
        return JSONResponse({"detail": "the simulator needs the console SMS provider"}, 409)
    phone = fictional(text.phone)
    if phone is None:
        return JSONResponse({"detail": f"use a fictional number: {FICTIONAL_PREFIX}000 to 999"},
                            422)
    params = {"MessageSid": new_sid(), "AccountSid": rt.settings.twilio_account_sid or "AC" + "0" * 32,
              "From": phone, "To": "61016", "Body": text.body, "NumMedia": "0"}
    headers = {}
    if rt.settings.twilio_auth_token is not None:
        headers["X-Twilio-Signature"] = sign(rt.settings.twilio_auth_token.get_secret_value(),
                                             rt.settings.public_url + WEBHOOK, params)
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url=rt.settings.public_url,
                                 timeout=30) as client:
        resp = await client.post(WEBHOOK, data=params, headers=headers)
    if resp.status_code != 200:
        return JSONResponse({"detail": f"the webhook answered {resp.status_code}"}, 502)
    # Stored: the replies follow once the processor has read it; the page polls for them.
    return JSONResponse({"sid": params["MessageSid"]})


@router.get("/simulator/messages")
def simulator_messages(request: Request, phone: str = Query(max_length=32),
                       after: int = Query(0, ge=0, le=2**31 - 1),  # a message id
                       user: PageUser = Operator) -> Response:
    """What the simulated phone holds: its own texts and those sent to it, never notes."""
    number = fictional(phone)
    if number is None:
        return JSONResponse({"detail": "not a fictional number"}, 422)
    with request.app.state.sessions() as session:
        rows = session.execute(
            select(Message.id, Message.direction, Message.author, Message.body, Message.status,
                   Message.created_at)
            .join(Case, Case.id == Message.case_id)
            .join(Reporter, Reporter.id == Case.reporter_id)
            .where(Reporter.phone == number, Message.id > after,
                   Message.direction.in_(("inbound", "outbound")))
            .order_by(Message.id).limit(200)
        ).all()
    items = [{"id": r.id, "mine": r.direction == "inbound", "body": r.body, "status": r.status,
              "at": r.created_at.isoformat()}
             for r in rows if r.direction == "inbound" or r.status in SHOWN_STATUSES]
    return JSONResponse({"messages": items})


@router.get(REPLIES_PATH)
def simulator_replies(request: Request, phone: str = Query(max_length=32),
                      sid: str = Query(min_length=2, max_length=64),
                      after: int = Query(0, ge=0, le=2**31 - 1),  # a message id
                      ) -> Response:
    """`textline simulate`'s window on the phone it plays: whether its text `sid` has been read,
    and the texts sent to the phone since message `after`.

    No sign-in, as the webhook has none: a request signed as Twilio signs its webhooks where
    the server requires signatures, and, like the page, only the console provider (no text is
    sent, so none reached a real phone) and only a fictional number."""
    rt: Runtime = request.app.state.runtime
    token = rt.settings.twilio_auth_token
    if token is not None:
        url = public_request_url(rt.settings.public_url, request.url.path,
                                 request.url.query)
        if not signature_valid(token.get_secret_value(), url, {},
                               request.headers.get("x-twilio-signature")):
            return JSONResponse({"detail": "invalid Twilio signature"}, 403)
    if not _enabled(rt):
        return JSONResponse({"detail": "replies are sent by Twilio, not shown here: the "
                                       "simulator shows them only with the console SMS provider"},
                            409)
    number = fictional(phone)
    if number is None:
        return JSONResponse({"detail": f"use a fictional number: {FICTIONAL_PREFIX}000 to 999"},
                            422)
    with request.app.state.sessions() as session:
        mine = (select(Case.id).join(Reporter, Reporter.id == Case.reporter_id)
                .where(Reporter.phone == number))
        read = session.execute(select(Message.id).where(
            Message.provider_sid == sid, Message.direction == "inbound",
            Message.case_id.in_(mine)).limit(1)).first() is not None
        rows = session.execute(
            select(Message.id, Message.body)
            .where(Message.case_id.in_(mine), Message.direction == "outbound",
                   Message.id > after)
            .order_by(Message.id).limit(200)).all() if read else []
    return JSONResponse({"read": read, "replies": [{"id": r.id, "body": r.body} for r in rows]})
