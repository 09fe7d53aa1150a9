"""The abuse tests reuse the api tests' small world of units and principals."""

from tests.api.conftest import operator, password_hash, world

__all__ = ["operator", "password_hash", "world"]
