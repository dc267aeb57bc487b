#!/usr/bin/env python
"""API benchmark: this API against hand-written Starlette baselines, side by side in one run.

Starts, on this machine's PostgreSQL and Redis (or AUTOVIDEO_BENCH_DATABASE_URL / _REDIS_URL):
  - `autovideo serve --no-worker` (one process, operation rate limits raised),
  - a raw Starlette + asyncpg endpoint answering the same page with the same SQL and JSON,
  - a raw Starlette JSON hello,
seeds one user with 40 videos (each with a 6,000-character script, as real ones have), then runs
`wrk` (64 connections, installed with apt-get when missing) against:

  page      videos(first: 20) { edges { node { id title status duration createdAt
            processingProgress owner { username } } } }     (7 fields a node, signed in)
  typename  { __typename }

and prints req/s, p50 and p99 for each, with the ratio to its baseline.

    bench/api                      # 10 s per target, 64 connections
    bench/api --duration 5 --rounds 2 --connections 64
    bench/api --only page          # skip { __typename }
    bench/api --profile 20         # also py-spy the API for 20 s under the page load (profile.svg)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGE_QUERY = (
    "query Page { videos(first: 20) { edges { node { id title status duration createdAt "
    "processingProgress owner { username } } } } }"
)
TYPENAME_QUERY = "{ __typename }"
N_VIDEOS = 40
SCRIPT = ("Every great city began as a handful of houses beside water. " * 100)[:6000]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60, proc: subprocess.Popen | None = None) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"process for {url} exited early")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk not found: installing the Debian package (apt-get install -y wrk)…", flush=True)
    install = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "wrk"]
    if subprocess.run(install, check=False, capture_output=True).returncode != 0:
        # A fresh machine may have stale package lists; another apt may hold the lock (waited for).
        subprocess.run(
            ["apt-get", "-o", "DPkg::Lock::Timeout=300", "update"], check=False, capture_output=True
        )
        subprocess.run(install, check=False, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is needed: apt-get install -y wrk (it failed here; try it by hand)")
    return found


# ------------------------------------------------------------------------------------ setup


def service_urls() -> tuple[str, str]:
    pg = os.environ.get(
        "AUTOVIDEO_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    redis = os.environ.get("AUTOVIDEO_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    return pg, redis


async def create_database(admin_url: str, name: str) -> str:
    import asyncpg
    from sqlalchemy.engine import make_url

    u = make_url(admin_url)
    conn = await asyncpg.connect(
        user=u.username or "postgres", host=u.host, port=u.port or 5432, database="postgres"
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return u.set(database=name).render_as_string(hide_password=False)


async def drop_database(admin_url: str, name: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    u = make_url(admin_url)
    conn = await asyncpg.connect(
        user=u.username or "postgres", host=u.host, port=u.port or 5432, database="postgres"
    )
    try:
        await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        await conn.close()


async def seed(database_url: str, user_id: str) -> None:
    """Videos straight into the table (as a finished pipeline leaves them)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    u = make_url(database_url)
    conn = await asyncpg.connect(
        user=u.username or "postgres", host=u.host, port=u.port or 5432, database=u.database
    )
    try:
        rows = [
            (
                uuid.uuid4(),
                uuid.UUID(user_id),
                f"Video number {i}: why octopuses are so intelligent",
                "Explain octopus intelligence for curious teenagers",
                SCRIPT,
                "completed",
                "portrait",
                45,
                44.7,
                "1080x1920",
                "mp4",
                100,
            )
            for i in range(N_VIDEOS)
        ]
        await conn.executemany(
            "INSERT INTO videos (id, user_id, title, prompt, script_content, status, aspect_ratio,"
            " target_duration, duration, resolution, format, processing_progress, language,"
            " created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'en',"
            " now() - random() * interval '30 days', now())",
            rows,
        )
    finally:
        await conn.close()


def serve_env(database_url: str, redis_url: str, prefix: str, work: Path, port: int) -> dict[str, str]:
    """`autovideo serve`'s environment for a benchmark: its own database and Redis prefix,
    operation rate limits and cost buckets out of the way."""
    return {
        "AUTOVIDEO_DATABASE_URL": database_url,
        "AUTOVIDEO_REDIS_URL": redis_url,
        "AUTOVIDEO_REDIS_PREFIX": prefix,
        "AUTOVIDEO_DATA_DIR": str(work / "data"),
        "AUTOVIDEO_SECRET_KEY": "bench-secret-" + "z" * 40,
        "AUTOVIDEO_ENVIRONMENT": "test",
        "AUTOVIDEO_LOG_LEVEL": "WARNING",
        "AUTOVIDEO_OPERATIONS_PER_MINUTE": "100000000",
        "AUTOVIDEO_ANONYMOUS_OPERATIONS_PER_MINUTE": "100000000",
        # cost buckets still charged (their work is measured), never empty
        "AUTOVIDEO_COST_PER_MINUTE": "1000000000000",
        "AUTOVIDEO_ANONYMOUS_COST_PER_MINUTE": "1000000000000",
        "AUTOVIDEO_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }


def register(api: str) -> tuple[str, str]:
    import httpx

    name = "bench" + uuid.uuid4().hex[:8]
    q = (
        f'mutation {{ register(input: {{username: "{name}", email: "{name}@example.com", '
        'password: "a long bench passphrase"}) { accessToken user { id } } }'
    )
    r = httpx.post(api, json={"query": q}, timeout=30).json()
    payload = r["data"]["register"]
    from schema.node import from_global_id

    _, raw = from_global_id(payload["user"]["id"], "User")
    return payload["accessToken"], str(raw)


# ------------------------------------------------------------------------------------ wrk


LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
{auth}
"""


def wrk_script(d: Path, name: str, body: str, token: str | None) -> Path:
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    path = d / f"{name}.lua"
    path.write_text(LUA.format(body=json.dumps(body), auth=auth))
    return path


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        return float("nan")
    return float(m.group(1)) * _UNITS[m.group(2)]


def run_wrk(wrk: str, url: str, script: Path | None, duration: int, connections: int) -> dict:
    args = [wrk, "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    if script is not None:
        args += ["-s", str(script)]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "p50": p50,
        "p99": p99,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(0) if errors else "",
    }


# ------------------------------------------------------------------------------------ main


def cpu_per_request(pid: int, url: str, body: str | None, token: str | None, n: int) -> float:
    """Server CPU time (user + system, ms) per request over n sequential keep-alive requests:
    steadier than req/s on a busy machine, since other processes' load does not count."""
    import httpx
    import psutil

    proc = psutil.Process(pid)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    with httpx.Client(timeout=30) as client:

        def one() -> None:
            if body is None:
                client.get(url).raise_for_status()
            else:
                client.post(url, content=body, headers=headers).raise_for_status()

        for _ in range(20):
            one()
        before = sum(proc.cpu_times()[:2])
        for _ in range(n):
            one()
        after = sum(proc.cpu_times()[:2])
    return (after - before) * 1000 / n


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    fh = log.open("wb")
    return subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=fh, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def check_same_answer(api: str, raw: str, token: str) -> None:
    """The baseline must answer what the API answers, or the comparison means nothing."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    a = httpx.post(api, json={"query": PAGE_QUERY}, headers=headers, timeout=30).json()
    b = httpx.post(raw, json={"query": PAGE_QUERY}, headers=headers, timeout=30).json()
    a.pop("extensions", None)  # the API's extensions.cost: the baseline has no bucket to report
    if a != b:
        raise SystemExit(f"baseline and API disagree:\nAPI  {str(a)[:400]}\nraw  {str(b)[:400]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=10, help="seconds of load per target")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=1, help="run every target this many times (best kept)")
    ap.add_argument("--only", choices=["page", "typename"], default=None)
    ap.add_argument(
        "--profile",
        type=int,
        default=0,
        help="py-spy the API for N seconds under the page's load ({ __typename }'s with --only typename)",
    )
    ap.add_argument("--cpu-requests", type=int, default=300, help="sequential requests for CPU per request")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()

    wrk = ensure_wrk()
    admin, redis_url = service_urls()
    db_name = f"avbench_{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="autovideo-bench-api-"))
    database_url = asyncio.run(create_database(admin, db_name))
    from runtime import migrate

    migrate.upgrade(database_url)

    api_port, raw_port, hello_port = free_port(), free_port(), free_port()
    env = serve_env(database_url, redis_url, f"bench{os.getpid()}", work, api_port)
    py = sys.executable
    procs = [
        start(
            [py, "-m", "runtime.cli", "serve", "--no-worker", "--port", str(api_port)], env, work / "api.log"
        ),
        start(
            [py, str(ROOT / "bench" / "baselines.py"), "raw", str(raw_port)],
            {"BENCH_DATABASE_URL": database_url, "AUTOVIDEO_SECRET_KEY": env["AUTOVIDEO_SECRET_KEY"]},
            work / "raw.log",
        ),
        start([py, str(ROOT / "bench" / "baselines.py"), "hello", str(hello_port)], {}, work / "hello.log"),
    ]
    api = f"http://127.0.0.1:{api_port}/graphql"
    raw = f"http://127.0.0.1:{raw_port}/graphql"
    hello = f"http://127.0.0.1:{hello_port}/"
    results: dict[str, dict] = {}
    try:
        wait_http(f"http://127.0.0.1:{api_port}/readyz", proc=procs[0])
        wait_http(hello, proc=procs[2])
        token, user_id = register(api)
        asyncio.run(seed(database_url, user_id))
        wait_http(f"http://127.0.0.1:{raw_port}/healthz", proc=procs[1])
        check_same_answer(api, raw, token)

        page_lua = wrk_script(work, "page", json.dumps({"query": PAGE_QUERY}), token)
        typename_lua = wrk_script(work, "typename", json.dumps({"query": TYPENAME_QUERY}), None)
        targets = []
        if args.only in (None, "page"):
            targets += [("page", api, page_lua), ("page-raw", raw, page_lua)]
        if args.only in (None, "typename"):
            targets += [("typename", api, typename_lua), ("hello-raw", hello, None)]

        pids = {
            "page": procs[0].pid,
            "typename": procs[0].pid,
            "page-raw": procs[1].pid,
            "hello-raw": procs[2].pid,
        }
        bodies = {
            "page": json.dumps({"query": PAGE_QUERY}),
            "typename": json.dumps({"query": TYPENAME_QUERY}),
        }
        cpu = {
            name: cpu_per_request(
                pids[name],
                url,
                None if name == "hello-raw" else bodies.get(name, bodies["page"]),
                None if name in ("typename", "hello-raw") else token,
                args.cpu_requests,
            )
            for name, url, _ in targets
        }
        for url, script in {(u, s) for _, u, s in targets}:  # warm up every target
            run_wrk(wrk, url, script, 2, args.connections)
        for _ in range(args.rounds):
            for name, url, script in targets:
                r = run_wrk(wrk, url, script, args.duration, args.connections)
                if name not in results or r["rps"] > results[name]["rps"]:
                    results[name] = r
                results[name]["cpu_ms"] = cpu[name]
        if args.profile:
            lua = typename_lua if args.only == "typename" else page_lua
            profile(wrk, procs[0].pid, api, lua, args.profile, args.connections)
    finally:
        for p in procs:
            stop(p)
        asyncio.run(drop_database(admin, db_name))
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{args.connections} connections, {args.duration} s per target, best of {args.rounds}\n")
    print(f"{'target':<10} {'this API':>35} {'baseline':>32} {'ratio':>7} {'CPU/request':>20}")
    for name, base, label in (
        ("page", "page-raw", "Starlette+asyncpg"),
        ("typename", "hello-raw", "Starlette hello"),
    ):
        if name not in results:
            continue
        a, b = results[name], results[base]
        print(
            f"{name:<10} {a['rps']:>8.0f} req/s p50 {a['p50']:>5.1f} p99 {a['p99']:>6.1f}"
            f" | {b['rps']:>7.0f} p50 {b['p50']:>5.1f} p99 {b['p99']:>6.1f} ({label})"
            f"  {a['rps'] / b['rps']:.3f}x"
            f"  {a['cpu_ms']:.2f} vs {b['cpu_ms']:.2f} ms ({b['cpu_ms'] / a['cpu_ms']:.3f}x)"
        )
        for n in (name, base):
            if results[n]["non2xx"] or results[n]["socket_errors"]:
                print(f"  ! {n}: non-2xx {results[n]['non2xx']} {results[n]['socket_errors']}")
    print("(latencies in ms; CPU/request: server CPU time over sequential requests, and its ratio)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def profile(wrk: str, pid: int, api: str, script: Path, seconds: int, connections: int) -> None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    load = subprocess.Popen(
        [wrk, "-t2", f"-c{connections}", f"-d{seconds + 2}s", "-s", str(script), api],
        stdout=subprocess.DEVNULL,
    )
    out = Path(tempfile.gettempdir()) / "autovideo-api-profile.txt"
    subprocess.run(
        [spy, "record", "-p", str(pid), "-d", str(seconds), "-f", "raw", "-o", str(out), "--nonblocking"],
        check=False,
        capture_output=True,
    )
    load.wait()
    print(f"profile (collapsed stacks): {out}")
    summarize(out)


def summarize(path: Path, top: int = 25) -> None:
    """Own time and inclusive time per function, from py-spy's collapsed stacks."""
    own: dict[str, int] = {}
    incl: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        count = int(n)
        frames = [re.sub(r" \(.*?/(site-packages|main)/", " (", f) for f in stack.split(";")]
        total += count
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for f in set(frames):
            incl[f] = incl.get(f, 0) + count
    print(f"\n{total} samples; own time:")
    for f, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {100 * n / total:5.1f}%  {f[:150]}")
    print("inclusive time:")
    for f, n in sorted(incl.items(), key=lambda kv: -kv[1])[: top * 2]:
        print(f"  {100 * n / total:5.1f}%  {f[:150]}")


if __name__ == "__main__":
    main()
