"""Password hashing with argon2id (the library's defaults follow RFC 9106's recommendations), and
the strength a new password must have."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.kit.errors import Unprocessable

MIN_PASSWORD = 12
# zxcvbn's score: 3 is "safely unguessable" against an online attack and a throttled one, which is
# what a sign-in form with waits faces. Its lists hold the most common passwords (from breaches),
# English words, names and keyboard walks; it also spots repeats, sequences and dates.
MIN_SCORE = 3
_SCORED_LENGTH = 72  # zxcvbn refuses longer input; the first 72 characters decide

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the timing of "no such user"
# equal to "wrong password".
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def one_time_password() -> str:
    """Readable, 20 characters from a 32-letter alphabet: about 100 bits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def require_strong(password: str, *, user_inputs: tuple[str, ...] = (),
                   what: str = "password") -> None:
    """Refuse a new password that is short or easy to guess, saying why in a line."""
    from zxcvbn import zxcvbn  # its word lists are loaded on the first use, not at import

    if len(password) < MIN_PASSWORD:
        raise Unprocessable(f"the {what} must be at least {MIN_PASSWORD} characters")
    result = zxcvbn(password[:_SCORED_LENGTH],
                    user_inputs=[u for u in user_inputs if u][:5])
    if result["score"] < MIN_SCORE:
        why = (result["feedback"].get("warning") or "it follows a common pattern").rstrip(".")
        raise Unprocessable(f"the {what} is too easy to guess ({why[0].lower()}{why[1:]}); "
                            "a few unrelated words make a strong one")
