"""Loopback load: wrk (Debian's) when installed, else a bounded asyncio client."""

import asyncio
import random
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


_WRK_SCRIPT = """
wrk.method = "{method}"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
{headers}
local counter = 0
local unique_keys = {unique}
-- each thread has a Lua state of its own, seeded alike: without its own id and seed, every thread
-- drew the same "unique" keys, and their requests were replays (or 422s on another path)
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
init = function(args)
  math.randomseed(os.time() * 1000 + (tid or 0))
end
local paths = {{{paths}}}
local fills = {{{fills}}}
local function uuid()
  return string.gsub("xxxxxxxx-xxxx-4xxx-axxx-xxxxxxxxxxxx", "x", function()
    return string.format("%x", math.random(0, 15))
  end)
end
request = function()
  counter = counter + 1
  if unique_keys then
    local stamp = tostring(os.time()) .. "-" .. tostring(math.random(1e9))
    wrk.headers["Idempotency-Key"] = "bench-" .. stamp .. "-" .. tostring(tid) .. "-" .. counter
  end
  local body = nil
  if next(fills) ~= nil or string.find(wrk.body, "<uuid>", 1, true) then
    body = string.gsub(wrk.body, "<uuid>", function() return (uuid()) end)
    for name, choices in pairs(fills) do
      body = string.gsub(body, "<" .. name .. ">", function() return choices[math.random(#choices)] end)
    end
  end
  if #paths > 0 then
    return wrk.format(nil, paths[math.random(#paths)], nil, body)
  end
  return wrk.format(nil, nil, nil, body)
end
"""


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(
    url: str,
    *,
    method: str,
    body: str,
    unique_keys: bool,
    seconds: int,
    connections: int,
    headers: dict[str, str],
    paths: list[str],
    fills: dict[str, list[str]],
) -> Result:
    extra = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    script = _WRK_SCRIPT.format(
        method=method,
        body=body,
        unique="true" if unique_keys else "false",
        headers=extra,
        paths=", ".join(f'"{p}"' for p in paths),
        fills=", ".join(f"{k} = {{{', '.join(repr(v) for v in vs)}}}" for k, vs in fills.items()),
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", f.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    Path(f.name).unlink()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = dict(re.findall(r"^\s+(\d+)%\s+([\d.]+\w+)", out, re.M))

    def pct(p: str) -> float:
        m = re.match(r"([\d.]+)(\w+)", lat[p])
        return _ms(m.group(1), m.group(2))  # type: ignore[union-attr]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Result(rps, pct("50"), pct("99"), int(errors.group(1)) if errors else 0)


async def _client(
    url: str,
    *,
    method: str,
    body: str,
    unique_keys: bool,
    seconds: int,
    connections: int,
    headers: dict[str, str],
    paths: list[str],
    fills: dict[str, list[str]],
) -> Result:
    latencies: list[float] = []
    base = url.split("/", 3)[:3]
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=10, headers=headers) as client:

        async def loop(n: int) -> None:
            nonlocal errors
            i = 0
            while time.perf_counter() < deadline:
                i += 1
                headers = {"content-type": "application/json"}
                if unique_keys:
                    headers["Idempotency-Key"] = f"bench-{n}-{i}-{time.time_ns()}"
                target = "/".join(base) + paths[i % len(paths)] if paths else url
                content = _filled(body, fills) if fills or "<uuid>" in body else body
                started = time.perf_counter()
                r = await client.request(method, target, content=content or None, headers=headers)
                latencies.append(time.perf_counter() - started)
                errors += r.status_code >= 400

        await asyncio.gather(*(loop(n) for n in range(connections)))
    latencies.sort()
    return Result(
        len(latencies) / seconds,
        latencies[len(latencies) // 2] * 1000,
        latencies[int(len(latencies) * 0.99)] * 1000,
        errors,
    )


def _filled(body: str, fills: dict[str, list[str]]) -> str:
    """Each "<uuid>" a fresh id, each "<name>" one of fills[name] at random."""
    parts = body.split("<uuid>")
    body = "".join(p + (str(uuid.uuid4()) if i < len(parts) - 1 else "") for i, p in enumerate(parts))
    for name, choices in fills.items():
        parts = body.split(f"<{name}>")
        body = "".join(
            p + (random.choice(choices) if i < len(parts) - 1 else "") for i, p in enumerate(parts)
        )
    return body


def drive(
    url: str,
    *,
    method: str = "GET",
    body: str = "",
    unique_keys: bool = False,
    seconds: int = 5,
    connections: int = 32,
    headers: dict[str, str] | None = None,
    paths: list[str] | None = None,
    fills: dict[str, list[str]] | None = None,
) -> Result:
    """Load `url` for `seconds` with `connections` concurrent connections; with `paths`, each
    request goes to one of them (on `url`'s host) at random. In `body`, each "<uuid>" becomes a
    fresh id and each "<name>" one of `fills[name]`, request by request."""
    opts = dict(
        method=method,
        body=body,
        unique_keys=unique_keys,
        seconds=seconds,
        connections=connections,
        headers=headers or {},
        paths=paths or [],
        fills=fills or {},
    )
    if shutil.which("wrk"):
        return wrk(url, **opts)  # type: ignore[arg-type]
    return asyncio.run(_client(url, **opts))  # type: ignore[arg-type]


def generator() -> str:
    return (
        "wrk" if shutil.which("wrk") else "bounded asyncio client (install Debian's wrk for steadier numbers)"
    )
