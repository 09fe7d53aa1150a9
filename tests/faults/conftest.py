"""The fault tests reuse the api tests' small world of units and principals."""

from tests.api.conftest import password_hash, world

__all__ = ["password_hash", "world"]
