"""Password and client-secret hashing (argon2) and the password rules."""

import re
import secrets

from pwdlib import PasswordHash

from shared.i18n import tr

_hasher = PasswordHash.recommended()
# Verified against when a username is unknown, so timing does not reveal which exist.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))
MIN_LENGTH = 10


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(secret: str, hashed: str | None) -> bool:
    return _hasher.verify(secret, hashed or _DUMMY) and hashed is not None


def password_problems(password: str, *, username: str) -> list[str]:
    """What is wrong with a new password, in words; empty when it is acceptable."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(tr("use at least {n} characters", n=MIN_LENGTH))
    if len(password) > 128:
        problems.append(tr("use at most {n} characters", n=128))
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        problems.append(tr("mix letters and digits"))
    if username and username.lower() in password.lower():
        problems.append(tr("do not include the username"))

    return problems


def new_secret() -> str:
    return secrets.token_urlsafe(32)
