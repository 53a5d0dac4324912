"""Replica benchmark: what the distributed mode (SHOPDESK_REDIS_URL) costs a turn, and whether two
replicas carry what one does.

    .venv/bin/python bench/replicas.py [--duration 10] [--clients 20]
        [--database postgresql+psycopg://postgres@127.0.0.1:5432/test] [--redis redis://127.0.0.1:6379/0]

Three set-ups, each on the same PostgreSQL database (a fresh schema each) with server processes on
loopback ports running the real app — real conversation store, real loop, turn locks, bus — with an
instant model (`agent.models.FunctionModel`) and a canned knowledge base, so what is measured is
the server and the distributed mode, not retrieval (bench/turns.py measures that):

- one process, in-process (no Redis: LocalBus, no turn locks);
- one process on Redis (every event published, every turn under a Redis lock);
- two replicas on Redis, the clients split across them.

Closed loop: `--clients` conversations each sending as soon as its answer arrives, for `--duration`
seconds: turns/s, server-added latency p50/p99 (user message sent → final message received; the
model's own time is microseconds) and server CPU per turn (all processes, all threads, from /proc).
The bus's own latency: one conversation with a socket on each replica, 200 turns in sequence; the
final message's arrival on the other replica's socket minus its arrival on the turn's own.
Loopback only; every phase is bounded in time.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's packages

from agent.app.offline_env import use_offline_env  # noqa: E402

use_offline_env()  # before torch, transformers, chromadb or litellm load

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

from bench.turns import Conv, cpu_seconds, pct, question  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ANSWER = "Returns are accepted within 30 days of delivery [1]."


# The server process ----------------------------------------------------------------------------
def serve(
    data: Path, port: int, database_url: str, redis_url: str, prefix: str, limits: str
) -> None:
    from agent.app.background import BackgroundServer
    from agent.app.server import build_app
    from agent.app.settings import Settings
    from agent.models import FunctionModel, ModelReply
    from tests.ws_helpers import CannedKnowledge

    model = FunctionModel(lambda request: ModelReply(text=ANSWER), name="bench/instant")
    settings = Settings(
        data=data,
        database_url=database_url,
        redis_url=redis_url or None,
        redis_prefix=prefix,
        rate_limit_prefix=prefix.rstrip(":"),
        rate_limit_storage=limits or None,  # unset: on Redis when redis_url is set
        orders=None,
        messages_per_minute=1_000_000,
        limit_new_conversations_per_address="1000000 per minute",
        limit_messages_per_address="1000000 per minute",
        limit_model_calls="1000000 per minute",
        idle_timeout=3600,
    )

    def make(bound: int):  # type: ignore[no-untyped-def]
        return build_app(
            settings.model_copy(update={"port": bound}), model=model, kb=CannedKnowledge()
        )  # type: ignore[arg-type]

    server = BackgroundServer(make, settings=settings, port=port).start(timeout=600)
    print(f"READY {server.port}", flush=True)
    try:
        sys.stdin.read()  # until the benchmark closes our stdin
    finally:
        server.stop()


def start_server(data: Path, database_url: str, redis_url: str, prefix: str, limits: str) -> tuple:
    command = [sys.executable, __file__, "--serve", str(data), database_url, redis_url, prefix]
    command.append(limits)
    proc = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    assert line.startswith("READY"), f"server did not start: {line!r}"
    return proc, f"ws://127.0.0.1:{int(line.split()[1])}/ws"


def stop_server(proc: subprocess.Popen) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


# The load --------------------------------------------------------------------------------------
async def closed_loop(urls: list[str], clients: int, duration: float) -> dict:
    convs = [await Conv.open(urls[i % len(urls)]) for i in range(clients)]
    latencies: list[float] = []
    deadline = time.perf_counter() + duration
    counter = iter(range(10**9))

    async def run(conv: Conv) -> None:
        while time.perf_counter() < deadline:
            wall, _ = await conv.turn(next(counter))
            latencies.append(wall)

    started = time.perf_counter()
    await asyncio.gather(*(run(c) for c in convs))
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(c.ws.close() for c in convs), return_exceptions=True)
    return {"turns": len(latencies), "rate": len(latencies) / elapsed, "lat": latencies}


async def bus_latency(url_a: str, url_b: str, turns: int = 200) -> list[float]:
    """Final message on the other replica's socket minus on the turn's own, per turn."""
    from websockets.asyncio.client import connect

    own = await connect(url_a, open_timeout=60, max_size=None, ping_interval=None)
    await own.send(json.dumps({"type": "hello"}))
    ready = json.loads(await own.recv())
    other = await connect(url_b, open_timeout=60, max_size=None, ping_interval=None)
    credential = {k: ready[k] for k in ("conversation_id", "resume_token")}
    await other.send(json.dumps({"type": "hello", **credential}))
    assert json.loads(await other.recv())["resumed"] is True

    async def final(ws) -> float:  # type: ignore[no-untyped-def]
        while json.loads(await ws.recv())["type"] != "assistant_message":
            pass
        return time.perf_counter()

    deltas = []
    for n in range(turns):
        await own.send(json.dumps({"type": "user_message", "text": question(n)}))
        here, there = await asyncio.gather(final(own), final(other))
        deltas.append(there - here)
    await own.close()
    await other.close()
    return deltas


def shared_counters(database_url: str, redis_url: str) -> tuple[int, int]:
    """Commands Redis has processed and transactions PostgreSQL has committed so far: what one
    turn costs the shared services, for projecting more replicas."""
    import redis
    import sqlalchemy as sa

    client = redis.Redis.from_url(redis_url)
    commands = int(client.info("stats")["total_commands_processed"])
    client.close()
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        commits = conn.execute(
            sa.text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        ).scalar_one()
    engine.dispose()
    return commands, int(commits)


def measure(
    setup: str, replicas: int, redis_url: str, args: argparse.Namespace, limits: str = ""
) -> dict:
    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(args.database)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in args.database else "?"
    url = f"{args.database}{sep}options=-csearch_path%3D{schema}"
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    servers = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(replicas):  # one after the other: the first migrates the schema
                servers.append(start_server(Path(tmp) / f"r{i}", url, redis_url, prefix, limits))
            urls = [u for _, u in servers]
            pids = [p.pid for p, _ in servers]
            asyncio.run(closed_loop(urls, 4, 2.0))  # warm-up
            cpu0 = sum(cpu_seconds(p) for p in pids)
            redis0, pg0 = shared_counters(args.database, args.redis)
            result = asyncio.run(closed_loop(urls, args.clients, args.duration))
            turns = max(1, result["turns"])
            result["cpu"] = (sum(cpu_seconds(p) for p in pids) - cpu0) / turns
            redis1, pg1 = shared_counters(args.database, args.redis)
            # Machine-wide counters: other work on this Redis/PostgreSQL counts too (quiet machine).
            result["redis_ops"] = (redis1 - redis0) / turns
            result["pg_commits"] = (pg1 - pg0) / turns
            result["bus"] = asyncio.run(bus_latency(urls[0], urls[-1])) if replicas > 1 else []
    finally:
        for proc, _ in servers:
            stop_server(proc)
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
        if redis_url:
            import redis

            client = redis.Redis.from_url(redis_url)
            keys = list(client.scan_iter(match=f"{prefix}*"))
            if keys:
                client.delete(*keys)
            client.close()
    result["setup"] = setup
    return result


def report(results: list[dict], args: argparse.Namespace) -> None:
    print(f"\nclosed loop, {args.clients} conversations, {args.duration:.0f} s each")
    print(
        f"{'set-up':<46}{'turns/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/turn':>13}"
        f"{'Redis cmds/turn':>17}{'PG commits/turn':>17}"
    )
    for r in results:
        lat = [x * 1000 for x in r["lat"]]
        print(
            f"{r['setup']:<46}{r['rate']:>9.1f}{pct(lat, 50):>9.1f}{pct(lat, 99):>9.1f}"
            f"{r['cpu'] * 1000:>13.2f}{r['redis_ops']:>17.1f}{r['pg_commits']:>17.1f}"
        )
    local, bus_only, on_redis = (pct([x * 1000 for x in r["lat"]], 50) for r in results[:3])
    print(
        f"\nat p50 under load, one process: the bus and turn locks add {bus_only - local:+.1f} ms,"
    )
    print(f"the bus, locks and limits on Redis add {on_redis - local:+.1f} ms")
    bus = [x * 1000 for x in results[-1]["bus"]]
    if bus:
        print(
            f"bus delivery to the other replica's socket, 200 turns in sequence: "
            f"p50 {pct(bus, 50):.2f} ms, p99 {pct(bus, 99):.2f} ms"
        )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        data, database_url, redis_url, prefix, limits = sys.argv[2:7]
        serve(Path(data), 0, database_url, redis_url, prefix, limits)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    results = [
        measure("one process, in-process", 1, "", args),
        measure("one process, bus on Redis, limits in memory", 1, args.redis, args, "memory://"),
        measure("one process, on Redis", 1, args.redis, args),
        measure("two replicas on Redis (split)", 2, args.redis, args),
    ]
    report(results, args)


if __name__ == "__main__":
    main()
