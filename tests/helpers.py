"""Small helpers the tests share."""

import asyncio
import io
import json
import os
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from httpx import ASGITransport, AsyncClient
from httpx import Response as Response_
from PIL import Image
from PIL.ExifTags import GPS, IFD, Base
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.api.app import create_app
from shared.settings import ApiSettings

T = TypeVar("T")


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


free_port = closed_port


async def eventually(check: Callable[[], Awaitable[T | None]], *, within: float, every: float = 0.1) -> T:
    """Poll `check` until it returns something truthy; fail with the last value after `within` seconds."""
    deadline = time.monotonic() + within
    last: T | None = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(every)
    raise AssertionError(f"condition not met within {within}s (last: {last!r})")


def port_open(host: str, port: int) -> bool:
    """Whether something accepts connections on host:port."""
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


class Receiver:
    """Another system's webhook URL, served for real on loopback; fails its first `failures` requests."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.url = ""

    async def _handle(self, request: Request) -> Response:
        self.requests.append((dict(request.headers), await request.body()))
        if len(self.requests) <= self.failures:
            return Response("busy", status_code=503)
        return Response("ok")


@asynccontextmanager
async def receiving(failures: int = 0) -> AsyncIterator[Receiver]:
    """Serve a Receiver under uvicorn on a free loopback port for the block's duration."""
    rec = Receiver(failures)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    rec.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    app = Starlette(routes=[Route("/hook", rec._handle, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    try:
        yield rec
    finally:
        server.should_exit = True
        await task


def record_reliability(name: str, figures: dict[str, object]) -> None:
    """Keep a fault or abuse test's figures for the README's Reliability section
    (`make reliability` sets DUBAN_RELIABILITY_DIR and renders them)."""
    where = os.environ.get("DUBAN_RELIABILITY_DIR")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        (Path(where) / f"{name}.json").write_text(json.dumps(figures, indent=1, ensure_ascii=False))


# An instant in an answer: a date, a time, and an offset (or Z)
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})\b")


async def in_beijing_time(response: Response_) -> None:
    """An httpx response hook: every instant the api answers with, in a body or a header, is in
    +08:00 (Asia/Shanghai), where the offices work, unless the request named its own Time-Zone;
    else the request fails the test."""
    if response.request.headers.get("time-zone") or not response.headers.get("content-type", "").startswith(
        ("application/json", "application/problem+json")
    ):
        return  # (a caller that names its own zone gets that one)
    await response.aread()
    others = sorted({m.group(0) for m in _INSTANT.finditer(response.text) if m.group(1) != "+08:00"})
    assert not others, (
        f"{response.request.method} {response.request.url.path} answered instants not in +08:00: {others}"
    )


# What a Chinese answer may still spell in Latin letters: standards, formats, protocol words and
# the names of things a caller sends as they are (an HTTP header, a file type)
LATIN = set(
    "GB T RFC ISO YYYY MM DD Www Q HTTP JSON URL UTF GBK CSV csv xlsx Excel MB KB OC4IDS SHA If Match "
    "Idempotency Key Retry After Authorization Bearer Content Type Accept Language POST GET PUT PATCH "
    "DELETE ID id UUID Z SMS API true false null".split()
)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|“[^”]*”|‘[^’]*’|/[\w/{}.:-]+|[0-9a-f]{8}-[0-9a-f-]{27}")


def english_left(text: str) -> list[str]:
    """Latin words in a Chinese answer that are not values quoted, paths or LATIN."""
    return [w for w in re.findall(r"[A-Za-z]+", _QUOTED.sub(" ", text)) if w not in LATIN]


async def in_chinese(response: Response_) -> None:
    """An httpx response hook: a problem answered to a caller who asked for Chinese is Chinese
    throughout — title, detail, every error — values quoted as sent aside."""
    if response.headers.get("content-language") != "zh-CN" or not response.headers.get(
        "content-type", ""
    ).startswith("application/problem+json"):
        return
    await response.aread()
    problem = response.json()
    said = [problem.get("title", ""), problem.get("detail", "")]
    said += [e.get("msg") or e.get("message") or "" for e in problem.get("errors") or []]
    left = sorted({w for text in said for w in english_left(str(text))})
    assert not left, (
        f"{response.request.method} {response.request.url.path} left English in Chinese: {left} {said}"
    )


@asynccontextmanager
async def running(settings: ApiSettings, sessions: Any = None) -> AsyncIterator[AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        if sessions is not None:
            app.state.sessions = sessions
        transport = ASGITransport(app=app, raise_app_exceptions=False)
        async with AsyncClient(
            transport=transport,
            base_url="http://duban.test",
            event_hooks={"response": [in_beijing_time, in_chinese]},
        ) as client:
            yield client


def photo(
    *,
    fmt: str = "JPEG",
    latitude: float | None = None,
    longitude: float | None = None,
    taken: str | None = None,
) -> bytes:
    """A small photo as a phone sends it: JPEG, PNG or HEIF, with its EXIF capture time and GPS
    position (north and east) when given."""

    def dms(degrees: float) -> tuple[float, float, float]:
        d, rest = int(degrees), (degrees - int(degrees)) * 60
        return float(d), float(int(rest)), round((rest - int(rest)) * 60, 4)

    exif = Image.Exif()
    if taken is not None:
        exif[Base.DateTime] = taken
    if latitude is not None and longitude is not None:
        exif[IFD.GPSInfo] = {
            GPS.GPSLatitudeRef: "N", GPS.GPSLatitude: dms(latitude),
            GPS.GPSLongitudeRef: "E", GPS.GPSLongitude: dms(longitude),
        }  # fmt: skip
    out = io.BytesIO()
    Image.new("RGB", (96, 64), (120, 160, 90)).save(out, format=fmt, exif=exif)
    return out.getvalue()
