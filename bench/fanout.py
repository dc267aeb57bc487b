#!/usr/bin/env python
"""Subscription fan-out benchmark: N websocket clients follow one user's events while a video
renders under `autovideo serve` (its in-process worker renders; machine's PostgreSQL and Redis,
or AUTOVIDEO_BENCH_DATABASE_URL / _REDIS_URL).

Every client subscribes to `myVideoEvents { videoId status stage progress message at }`
(graphql-transport-ws, token in connection_init); the clients live in a few processes of their
own. Once all are subscribed, the API's memory is read (idle subscriptions), then one 15-second
video is created. Each event's delivery latency is the time it arrived at a client minus its
`at` (when the worker made it). Prints p50/p99/max over all deliveries, how many clients saw the
video complete, and the API's RSS with the idle subscriptions.

    bench/fanout                    # 1,000 clients
    bench/fanout --clients 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api import (  # noqa: E402
    create_database,
    drop_database,
    free_port,
    register,
    serve_env,
    service_urls,
    start,
    stop,
    wait_http,
)

SUBSCRIPTION = "subscription { myVideoEvents { videoId status stage progress message at } }"


def client_process(ws_url: str, token: str, n: int, ready: mp.Queue, out: Path, deadline: float) -> None:
    asyncio.run(_clients(ws_url, token, n, ready, out, deadline))


async def _clients(ws_url: str, token: str, n: int, ready: mp.Queue, out: Path, deadline: float) -> None:
    import websockets

    latencies: list[float] = []
    by_event: dict[str, list[float]] = {}
    completed = 0
    failures = 0

    async def one(i: int) -> None:
        nonlocal completed, failures
        try:
            async with websockets.connect(
                ws_url, subprotocols=["graphql-transport-ws"], max_queue=None, open_timeout=60
            ) as ws:
                await ws.send(
                    json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
                )
                ack = json.loads(await ws.recv())
                assert ack["type"] == "connection_ack", ack
                await ws.send(
                    json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}})
                )
                ready.put(1)
                while time.time() < deadline:
                    try:
                        raw = await asyncio.wait_for(ws.recv(), deadline - time.time())
                    except TimeoutError:
                        return
                    now = time.time()
                    msg = json.loads(raw)
                    if msg["type"] != "next":
                        if msg["type"] == "ping":
                            await ws.send(json.dumps({"type": "pong"}))
                            continue
                        failures += 1
                        return
                    event = msg["payload"]["data"]["myVideoEvents"]
                    latency = now - datetime.fromisoformat(event["at"]).timestamp()
                    latencies.append(latency)
                    label = f"{event['status']}/{event['stage']}/{event['progress']}"
                    by_event.setdefault(label, []).append(latency)
                    if event["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
                        completed += 1
                        return
        except Exception as exc:
            failures += 1
            print(f"client {i}: {type(exc).__name__}: {exc}", file=sys.stderr)
            ready.put(0)

    await asyncio.gather(*(one(i) for i in range(n)))
    out.write_text(  # noqa: ASYNC240 (the clients are done)
        json.dumps(
            {"latencies": latencies, "completed": completed, "failures": failures, "by_event": by_event}
        )
    )


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--processes", type=int, default=4, help="client processes")
    ap.add_argument("--seconds", type=int, default=15, help="target duration of the video")
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--profile", type=Path, default=None, help="py-spy the API while the video renders")
    ap.add_argument("--events", action="store_true", help="also print the latency of each event")
    args = ap.parse_args()

    import httpx
    import psutil

    admin, redis_url = service_urls()
    db_name = f"avfanout_{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="autovideo-bench-fanout-"))
    database_url = asyncio.run(create_database(admin, db_name))
    from runtime import migrate

    migrate.upgrade(database_url)
    port = free_port()
    env = serve_env(database_url, redis_url, f"fanout{os.getpid()}", work, port)
    api = start([sys.executable, "-m", "runtime.cli", "serve", "--port", str(port)], env, work / "api.log")
    procs: list[mp.Process] = []
    try:
        wait_http(f"http://127.0.0.1:{port}/readyz", proc=api, timeout=120)
        graphql = f"http://127.0.0.1:{port}/graphql"
        token, _ = register(graphql)
        ready: mp.Queue = mp.Queue()
        deadline = time.time() + args.timeout
        per = [
            args.clients // args.processes + (1 if i < args.clients % args.processes else 0)
            for i in range(args.processes)
        ]
        outs = [work / f"clients-{i}.json" for i in range(args.processes)]
        ws_url = f"ws://127.0.0.1:{port}/graphql"
        for i, n in enumerate(per):
            p = mp.Process(target=client_process, args=(ws_url, token, n, ready, outs[i], deadline))
            p.start()
            procs.append(p)
        subscribed = sum(ready.get(timeout=300) for _ in range(args.clients))
        time.sleep(2)  # let the last subscriptions settle
        rss_mb = psutil.Process(api.pid).memory_info().rss / 2**20
        spy = None
        if args.profile:
            spy_bin = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
            spy = subprocess.Popen(
                [
                    spy_bin,
                    "record",
                    "-p",
                    str(api.pid),
                    "-d",
                    str(args.timeout),
                    "-f",
                    "raw",
                    "-o",
                    str(args.profile),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        started = time.time()
        created = httpx.post(
            graphql,
            json={
                "query": 'mutation($s: Int) { createVideo(input: {title: "Why octopuses are so intelligent", '
                'prompt: "Why octopuses are so intelligent", targetDurationSeconds: $s}) { id } }',
                "variables": {"s": args.seconds},
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        ).json()
        assert "errors" not in created, created
        for p in procs:
            p.join(max(1, deadline - time.time()))
        elapsed = time.time() - started
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
        latencies: list[float] = []
        by_event: dict[str, list[float]] = {}
        completed = failures = 0
        for out in outs:
            if out.exists():
                data = json.loads(out.read_text())
                latencies += data["latencies"]
                for label, values in data["by_event"].items():
                    by_event.setdefault(label, []).extend(values)
                completed += data["completed"]
                failures += data["failures"]
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        stop(api)
        asyncio.run(drop_database(admin, db_name))
        shutil.rmtree(work, ignore_errors=True)

    ms = [x * 1000 for x in latencies]
    print(
        f"\n{args.clients} clients ({subscribed} subscribed) on myVideoEvents, one {args.seconds}-second video"
    )
    print(f"API RSS with {subscribed} idle subscriptions: {rss_mb:.0f} MB")
    print(
        f"deliveries {len(ms)} ({len(ms) / max(subscribed, 1):.1f} per client), "
        f"latency p50 {percentile(ms, 0.5):.0f} ms, p99 {percentile(ms, 0.99):.0f} ms, max {max(ms, default=0):.0f} ms"
        + (f", mean {statistics.fmean(ms):.0f} ms" if ms else "")
    )
    if args.events:
        print("per event (status/stage/progress): p50 / max ms")
        for label, values in by_event.items():
            print(f"  {label:<32} {percentile(values, 0.5) * 1000:6.0f} {max(values) * 1000:6.0f}")
    if args.profile:
        from bench.api import summarize

        summarize(args.profile)
    print(
        f"clients that saw the video finish: {completed}/{args.clients}; failed clients: {failures}; {elapsed:.0f} s"
    )


if __name__ == "__main__":
    main()
