"""Where evidence files live: content-addressed, behind one small interface.

Bytes are stored under their SHA-256, so the same photo sent twice is stored once, and a blob
written by a request that then rolled back is harmless (the next request with those bytes finds
it). `DUBAN_FILE_STORE` names the store: a directory (the default, `.data/files`), or
`s3://bucket/prefix` for an S3-compatible service at `DUBAN_S3_ENDPOINT` (path-style requests
signed with AWS Signature Version 4). Nothing is ever served from the store directly: downloads
go through the api with its access rules.
"""

import asyncio
import hashlib
import hmac
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import httpx

from shared.settings import ApiSettings


class MissingFile(Exception):
    """The store has no blob with that digest."""


class StoreUnavailable(Exception):
    """The store could not be reached or written (a full disk, S3 away): the api answers 503."""


class FileStore(Protocol):
    async def put(self, data: bytes) -> str:
        """Store the bytes (once); their SHA-256, hex."""
        ...

    async def get(self, sha256: str) -> bytes:
        """The bytes stored under the digest; MissingFile when none are."""
        ...


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class DirectoryStore:
    """Blobs as files `root/ab/cd/abcd…`, written to a temporary file and renamed into place (a
    crash leaves no half-written blob under a digest)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def _write(self, sha256: str, data: bytes) -> None:
        path = self._path(sha256)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def put(self, data: bytes) -> str:
        sha256 = digest(data)
        try:
            await asyncio.to_thread(self._write, sha256, data)
        except OSError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return sha256

    async def get(self, sha256: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(sha256).read_bytes)
        except FileNotFoundError as exc:
            raise MissingFile(sha256) from exc
        except OSError as exc:
            raise StoreUnavailable(str(exc)) from exc


class S3Store:
    """An S3-compatible bucket (MinIO, OSS, COS, Ceph, AWS): PUT and GET of `prefix/sha256`."""

    def __init__(
        self, *, endpoint: str, bucket: str, prefix: str, access_key: str, secret_key: str, region: str
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.access_key, self.secret_key, self.region = access_key, secret_key, region

    def _url(self, sha256: str) -> str:
        key = f"{self.prefix}/{sha256}" if self.prefix else sha256
        return f"{self.endpoint}/{self.bucket}/{key}"

    def _headers(self, method: str, url: str, payload_hash: str) -> dict[str, str]:
        """AWS Signature Version 4 for a request without a query string."""
        now = datetime.now(UTC)
        stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        parsed = httpx.URL(url)
        host = parsed.host + (f":{parsed.port}" if parsed.port else "")
        signed = "host;x-amz-content-sha256;x-amz-date"
        canonical = "\n".join(
            [method, parsed.raw_path.decode(), "",
             f"host:{host}\nx-amz-content-sha256:{payload_hash}\nx-amz-date:{stamp}\n", signed, payload_hash]
        )  # fmt: skip
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        key = f"AWS4{self.secret_key}".encode()
        for part in (day, self.region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        return {
            "x-amz-date": stamp,
            "x-amz-content-sha256": payload_hash,
            "Authorization": f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
            f"SignedHeaders={signed}, Signature={signature}",
        }

    async def put(self, data: bytes) -> str:
        sha256 = digest(data)
        url = self._url(sha256)
        try:
            async with httpx.AsyncClient(timeout=60) as http:
                answer = await http.put(url, content=data, headers=self._headers("PUT", url, sha256))
        except httpx.TransportError as exc:
            raise StoreUnavailable(repr(exc)) from exc
        if answer.status_code >= 300:
            raise StoreUnavailable(f"S3 PUT answered {answer.status_code}: {answer.text[:200]}")
        return sha256

    async def get(self, sha256: str) -> bytes:
        url = self._url(sha256)
        empty = hashlib.sha256(b"").hexdigest()
        try:
            async with httpx.AsyncClient(timeout=60) as http:
                answer = await http.get(url, headers=self._headers("GET", url, empty))
        except httpx.TransportError as exc:
            raise StoreUnavailable(repr(exc)) from exc
        if answer.status_code == 404:
            raise MissingFile(sha256)
        if answer.status_code >= 300:
            raise StoreUnavailable(f"S3 GET answered {answer.status_code}: {answer.text[:200]}")
        return answer.content


def open_store(settings: ApiSettings) -> FileStore:
    """The store `DUBAN_FILE_STORE` names."""
    where = settings.file_store
    if where.startswith("s3://"):
        bucket, _, prefix = where.removeprefix("s3://").partition("/")
        if not settings.s3_endpoint or not settings.s3_access_key or settings.s3_secret_key is None:
            raise ValueError(
                "an s3:// file store needs DUBAN_S3_ENDPOINT, DUBAN_S3_ACCESS_KEY and DUBAN_S3_SECRET_KEY"
            )
        return S3Store(
            endpoint=settings.s3_endpoint, bucket=bucket, prefix=prefix, access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(), region=settings.s3_region,
        )  # fmt: skip
    return DirectoryStore(Path(where))


__all__ = [
    "DirectoryStore",
    "FileStore",
    "MissingFile",
    "S3Store",
    "StoreUnavailable",
    "digest",
    "open_store",
]
