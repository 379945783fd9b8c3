"""TwiML responses, built with the twilio library so every body is XML-escaped."""

from __future__ import annotations

from collections.abc import Iterable

from twilio.twiml.messaging_response import MessagingResponse


def messaging_response(replies: Iterable[str]) -> str:
    response = MessagingResponse()
    for text in replies:
        response.message(text)
    return response.to_xml()
