"""The evidence store behind its interface: a content-addressed directory, and an S3-compatible
bucket (moto's S3 server on 127.0.0.1, spoken to with signed path-style requests) that the api
uses when DUBAN_FILE_STORE says s3://."""

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from httpx import AsyncClient
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import clock
from shared.filestore import DirectoryStore, MissingFile, S3Store, StoreUnavailable, digest
from shared.settings import ApiSettings
from tests.helpers import closed_port, photo, port_open, running
from tests.world import World, at


async def test_the_directory_keeps_each_content_once(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path)
    first = await store.put(b"%PDF-1.4 one")
    again = await store.put(b"%PDF-1.4 one")
    assert first == again == digest(b"%PDF-1.4 one")
    kept = await asyncio.to_thread(lambda: [p.name for p in tmp_path.rglob("*") if p.is_file()])
    assert kept == [first]
    assert await store.get(first) == b"%PDF-1.4 one"
    with pytest.raises(MissingFile):
        await store.get(digest(b"never stored"))


@pytest.fixture
def s3() -> Iterator[str]:
    """moto's S3 server, with a bucket `evidence`."""
    port = closed_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not port_open("127.0.0.1", port):
            assert time.monotonic() < deadline and server.poll() is None, "moto's S3 server did not start"
            time.sleep(0.1)
        endpoint = f"http://127.0.0.1:{port}"
        httpx.put(f"{endpoint}/evidence").raise_for_status()
        yield endpoint
    finally:
        server.terminate()
        server.wait(10)


async def _listing(endpoint: str, prefix: str) -> str:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{endpoint}/evidence?prefix={prefix}")).text


def _store(endpoint: str) -> S3Store:
    return S3Store(endpoint=endpoint, bucket="evidence", prefix="duban/files", access_key="test",
                   secret_key="test-secret", region="us-east-1")  # fmt: skip


async def test_an_s3_bucket_keeps_and_gives_back_the_bytes(s3: str) -> None:
    store = _store(s3)
    sha256 = await store.put(b"\x89PNG\r\n\x1a\n evidence")
    assert await store.get(sha256) == b"\x89PNG\r\n\x1a\n evidence"
    assert f"duban/files/{sha256}" in await _listing(s3, "duban/files/")
    with pytest.raises(MissingFile):
        await store.get(digest(b"never stored"))
    with pytest.raises(StoreUnavailable):
        await _store(f"http://127.0.0.1:{closed_port()}").put(b"x")


async def test_the_api_stores_evidence_in_s3_by_setting(
    s3: str, world: World, api_settings: ApiSettings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """DUBAN_FILE_STORE=s3://evidence/duban: a phone's photo goes to the bucket and comes back
    through the api."""
    settings = api_settings.model_copy(
        update={"file_store": "s3://evidence/duban", "s3_endpoint": s3, "s3_access_key": "test",
                "s3_secret_key": SecretStr("test-secret")}
    )  # fmt: skip
    async with running(settings, sessions) as client:
        await _photo_round_trip(client, world, s3)


async def _photo_round_trip(client: AsyncClient, world: World, s3: str) -> None:
    with clock.use_clock(at("2018-10-09 10:00")):
        visit = await client.post(
            "/api/v1/visits",
            json={"team_id": str(world.teams["A"].id), "kind": "on_site", "date": "2018-10-09"},
            headers=world.auth("p_staff"),
        )
    assert visit.status_code == 201, visit.text
    jpeg = photo()
    sent = await client.post(
        f"/api/v1/visits/{visit.json()['id']}/files",
        files={"file": ("IMG.jpg", jpeg)},
        headers=world.auth("p_staff"),
    )
    assert sent.status_code == 201, sent.text
    assert f"duban/{digest(jpeg)}" in await _listing(s3, "duban/")
    back = await client.get(f"/api/v1/files/{sent.json()['id']}", headers=world.auth("p_admin"))
    assert back.status_code == 200 and back.content == jpeg
