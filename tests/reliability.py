"""`make reliability`: run the fault and abuse suites and write what they did into the README's
Reliability section (between its markers), so the figures there are measured, not typed."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SUITES = ["tests/faults", "tests/security", "tests/e2e/test_fuzz.py", "tests/e2e/test_crash.py"]
START, END = "<!-- reliability:start -->", "<!-- reliability:end -->"


def measure() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as where:
        env = {**os.environ, "DUBAN_RELIABILITY_DIR": where}
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SUITES], env=env, cwd=ROOT
        )
        if done.returncode != 0:
            sys.exit("the suites failed: the README keeps its figures")
        return {p.stem: json.loads(p.read_text()) for p in Path(where).glob("*.json")}


def render(f: dict[str, Any]) -> str:
    redis, pg = f["redis"], f["postgres"]
    lines = [
        START,
        "Measured by `make reliability` (tests/faults, tests/security, tests/e2e), which rewrites "
        "this section:",
        "",
        f"- **Redis** ({', '.join(redis['faults'])}) under load: {redis['requests']} requests in "
        f"{redis['seconds']} s, {redis['approvals']} approvals and {redis['filings']} filings; "
        f"{redis['webhooks_delivered']} webhooks delivered, each exactly once with a valid signature; "
        f"{redis['answered_500']} answered 500; no service restarted by hand.",
        f"- **PostgreSQL** ({', '.join(pg['faults'])}) under load: {pg['requests']} requests, "
        f"{pg['answered_503']} answered 503 with Retry-After and retried, {pg['answered_500']} answered 500; "
        f"{pg['filings']} filings answered 201, each stored exactly once; every webhook delivered "
        f"({pg.get('webhooks_resent', 0)} sent twice under the same `X-Duban-Delivery`, a cut having "
        "come between the bank's answer and its record).",
    ]
    if "set" in f:
        st = f["set"]
        answered = {k: st["answers"].get(k, 0) for k in ("200", "503", "409")}
        lost = st["requests"] - sum(answered.values())
        faults = ", ".join(sorted(set(st["faults"])))
        lines.append(
            f"- **The set test** ({len(st['faults'])} faults: {faults}) with two notifiers and two "
            f"rankers: {st['scores']} scores from six phones in {st['batches']} batches ({st['requests']} "
            f"requests: {answered['200']} answered 200, {answered['503']} 503, {answered['409']} 409, "
            f"{lost} lost to a kill; each resent with its Idempotency-Key) in {st['seconds']} s: every "
            "acknowledged score received exactly once, the latest take of each criterion standing, and "
            "the ranker's snapshot equal to a fresh computation."
        )
    if "api_killed" in f:
        k = f["api_killed"]
        lines.append(
            f"- **The api SIGKILLed** {k['kills']} times while reports were filed: {k['filings']} filings, "
            f"{k['in_flight_when_killed']} of them in flight at a kill and sent again with their "
            "Idempotency-Key; each stored exactly once."
        )
    if "fuzz" in f:
        fz = f["fuzz"]
        lines.append(
            f"- **Generated requests**: {fz['cases']} schemathesis cases over all {fz['operations']} "
            "operations with every check on: no 5xx, no answer outside its schema; "
            f"{fz['refused_beyond_a_schema']} schema-valid requests refused for rules a schema cannot "
            "state (a stale version, a record that does not exist)."
        )
    if "tokens" in f and "injections" in f:
        lines.append(
            f"- **Abuse**: {f['tokens']['forged_tokens_refused']} forged or tampered tokens refused; "
            f"{f['injections']['requests']} injection strings across {f['injections']['filters']} filters "
            "searched as text; zip and row bombs, 12 MB and 100,000-deep bodies, NUL and lone "
            "surrogates refused in words."
        )
    lines.append(END)
    return "\n".join(lines)


def main() -> None:
    figures = measure()
    readme = ROOT / "README.md"
    text = readme.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(head + render(figures) + tail)
    print("README.md: Reliability section rewritten")


if __name__ == "__main__":
    main()
