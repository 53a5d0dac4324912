"""Turn benchmark: what the server adds to a turn, how many turns a second it carries, and its ceilings.

    .venv/bin/python bench/turns.py [--duration 25] [--data DIR]

One server (a subprocess on a loopback port) runs the real app — real knowledge base and retrieval,
real conversation store, real loop — with an instant in-process model (`agent.models.FunctionModel`,
no litellm; `--litellm` serves the same answer through litellm as the tests' scripted provider),
plus a plain `/echo` websocket on the same stack. Every question is unique, so every turn embeds its
query. Measured in one run:

- one conversation of 200 turns: the server's time for turns 1–10 against turns 191–200 (it must
  not grow with the conversation's length);
- open loop: 200 conversations each sending a message every 5 s (≈40 turns/s): server-added latency
  = user message sent → final message received (the instant model's own time is microseconds;
  with `--litellm`, litellm's processing counts as the server's);
- closed loop: 50 and 200 conversations sending as soon as each answer arrives: turns/s;
- ceilings: the websocket echo round-trip rate on the same stack, and the embedding model's batched
  query rate (measured in the server process, where retrieval embeds each turn's query);
- memory: server RSS with 1,000 idle connections (each said hello) over its RSS with none.
For context it also reports one conversation's turns in sequence (no queueing), the open loop at half
the rate (20 turns/s), and the server's CPU per turn (all threads, from /proc), which does not depend
on how busy the machine is — the latency and rate figures do.
Loopback only; every phase is bounded in time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's packages

from agent.app.offline_env import use_offline_env  # noqa: E402

use_offline_env()  # before torch, transformers, chromadb or litellm load

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOPICS = ["return", "refund", "label", "engraved mug", "shipping", "damaged plate", "gift card"]


def question(n: int) -> str:
    # Unique text each turn: the query encoder caches, and a cache hit would flatter the figures.
    return (
        f"Question {n}: how does {random.choice(TOPICS)} work for item {random.randint(1, 10**9)}?"
    )


# The server process ----------------------------------------------------------------------------
ANSWER = "Returns are accepted within 30 days of delivery [1]."


def _instant_model(through_litellm: bool):
    """(the Model to pass to build_app, or None; the model setting)."""
    from agent.models import FunctionModel, ModelReply

    if through_litellm:
        from tests.scripted_model import ScriptedModel

        return None, ScriptedModel.instant(ANSWER, "bench").name
    model = FunctionModel(lambda request: ModelReply(text=ANSWER), name="bench/instant")
    return model, "shopdesk/offline"  # the setting is unused when a model is given


def serve(data: Path, port: int, through_litellm: bool) -> None:
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    from agent.app.background import BackgroundServer
    from agent.app.server import build_app
    from agent.app.settings import Settings

    model, name = _instant_model(through_litellm)
    settings = Settings(
        data=data,
        model=name,
        messages_per_minute=1_000_000,
        # The closed-loop clients all come from loopback and spend no real model's budget.
        limit_new_conversations_per_address="1000000 per minute",
        limit_messages_per_address="1000000 per minute",
        limit_model_calls="1000000 per minute",
        idle_timeout=3600,
    )

    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                await ws.send_text(await ws.receive_text())
        except WebSocketDisconnect:
            return

    async def embed_rate(ws: WebSocket) -> None:
        await ws.accept()
        count = int(await ws.receive_text())
        from knowledge import embedding

        encoder = embedding.QueryEncoder(cache_size=1)
        encoder.encode("warm up the encoder")
        started = time.perf_counter()
        futures = [encoder.submit(question(n)) for n in range(count)]
        for future in futures:
            await asyncio.wrap_future(future)
        await ws.send_text(json.dumps({"rate": count / (time.perf_counter() - started)}))
        await ws.close()

    def make(bound: int):
        app = build_app(settings.model_copy(update={"port": bound}), model=model)
        app.router.routes.append(WebSocketRoute("/echo", echo))
        app.router.routes.append(WebSocketRoute("/embed-rate", embed_rate))
        return app

    server = BackgroundServer(make, settings=settings, port=port).start(timeout=600)
    from knowledge import embedding

    # As `shopdesk serve` does at start-up: the checked ONNX export (made now if missing) by
    # default, torch with SHOPDESK_QUERY_MODEL=torch.
    onnx = settings.query_model == "onnx"
    embedding.warm_up_queries(embedding.query_model_dir(settings.data) if onnx else None)
    print(f"READY {server.port}", flush=True)
    try:
        sys.stdin.read()  # until the benchmark closes our stdin
    finally:
        server.stop()


# The load generator ----------------------------------------------------------------------------
def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


class Conv:
    def __init__(self, ws) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, url: str) -> Conv:
        from websockets.asyncio.client import connect

        ws = await connect(url, open_timeout=60, max_size=None, ping_interval=None)
        await ws.send(json.dumps({"type": "hello"}))
        ready = json.loads(await ws.recv())
        assert ready["type"] == "ready", ready
        return cls(ws)

    async def turn(self, n: int) -> tuple[float, float]:
        """One turn: (wall seconds, model seconds — none to speak of for the instant model)."""
        started = time.perf_counter()
        await self.ws.send(json.dumps({"type": "user_message", "text": question(n)}))
        while True:
            event = json.loads(await self.ws.recv())
            if event["type"] == "assistant_message":
                return time.perf_counter() - started, 0.0
            if event["type"] == "error":
                raise RuntimeError(f"turn failed: {event}")


async def open_convs(url: str, count: int) -> list[Conv]:
    convs: list[Conv] = []
    for start in range(0, count, 100):  # in waves: the handshake backlog stays small
        convs += await asyncio.gather(*(Conv.open(url) for _ in range(min(100, count - start))))
    return convs


async def close_convs(convs: list[Conv]) -> None:
    await asyncio.gather(*(c.ws.close() for c in convs), return_exceptions=True)


async def open_loop(url: str, conversations: int, period: float, duration: float) -> dict:
    convs = await open_convs(url, conversations)
    added: list[float] = []
    errors = 0
    counter = iter(range(10**9))
    deadline = time.perf_counter() + duration

    async def run(conv: Conv) -> None:
        nonlocal errors
        await asyncio.sleep(random.uniform(0, period))
        next_at = time.perf_counter()
        while next_at < deadline:
            try:
                wall, model = await conv.turn(next(counter))
                added.append(wall - model)
            except Exception:
                errors += 1
            next_at += period
            if next_at >= deadline:
                break
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    started = time.perf_counter()
    await asyncio.gather(*(run(c) for c in convs))
    elapsed = time.perf_counter() - started
    await close_convs(convs)
    return {
        "turns": len(added),
        "rate": len(added) / elapsed,
        "p50_ms": pct(added, 50) * 1000,
        "p99_ms": pct(added, 99) * 1000,
        "mean_ms": statistics.fmean(added) * 1000 if added else float("nan"),
        "errors": errors,
    }


async def sequential(url: str, turns: int) -> dict:
    """One conversation, one turn at a time: the server's latency with no queueing."""
    conv = (await open_convs(url, 1))[0]
    added = []
    for n in range(turns):
        wall, model = await conv.turn(n)
        added.append(wall - model)
    await close_convs([conv])
    return {"p50_ms": pct(added, 50) * 1000, "p99_ms": pct(added, 99) * 1000}


async def long_conversation(url: str, turns: int = 200, conversations: int = 3) -> dict:
    """Turn 1 against turn 200 of one conversation: the server's time per turn must not grow with
    the conversation's length. Several conversations, turns in sequence; the median of the first
    and of the last ten turns (one turn alone is too noisy to compare)."""
    first: list[float] = []
    final: list[float] = []
    for _ in range(conversations):
        conv = (await open_convs(url, 1))[0]
        added = []
        for n in range(turns):
            wall, model = await conv.turn(n)
            added.append(wall - model)
        await close_convs([conv])
        first += added[:10]
        final += added[-10:]
    return {"first_ms": pct(first, 50) * 1000, "last_ms": pct(final, 50) * 1000, "turns": turns}


async def closed_loop(url: str, conversations: int, duration: float) -> dict:
    convs = await open_convs(url, conversations)
    done = errors = 0
    counter = iter(range(10**9))
    deadline = time.perf_counter() + duration

    async def run(conv: Conv) -> None:
        nonlocal done, errors
        while time.perf_counter() < deadline:
            try:
                await conv.turn(next(counter))
                done += 1
            except Exception:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(run(c) for c in convs))
    elapsed = time.perf_counter() - started
    await close_convs(convs)
    return {"turns": done, "rate": done / elapsed, "errors": errors}


async def echo_ceiling(base: str, connections: int, duration: float) -> float:
    from websockets.asyncio.client import connect

    done = 0
    deadline = time.perf_counter() + duration

    async def run() -> None:
        nonlocal done
        async with connect(f"{base}/echo", ping_interval=None) as ws:
            payload = json.dumps({"type": "user_message", "text": question(0)})
            while time.perf_counter() < deadline:
                await ws.send(payload)
                await ws.recv()
                done += 1

    started = time.perf_counter()
    await asyncio.gather(*(run() for _ in range(connections)))
    return done / (time.perf_counter() - started)


async def embed_ceiling(base: str, count: int) -> float:
    from websockets.asyncio.client import connect

    async with connect(f"{base}/embed-rate", open_timeout=60) as ws:
        await ws.send(str(count))
        return json.loads(await asyncio.wait_for(ws.recv(), 600))["rate"]


async def idle_memory(url: str, pid: int, count: int) -> tuple[float, float]:
    await asyncio.sleep(1.0)
    before = rss_mb(pid)
    convs = await open_convs(url, count)
    await asyncio.sleep(2.0)
    after = rss_mb(pid)
    await close_convs(convs)
    return before, after


async def measure(port: int, pid: int, duration: float) -> dict:
    base = f"ws://127.0.0.1:{port}"
    url = f"{base}/ws"
    results: dict = {}
    warm = await open_convs(url, 4)  # load the model paths and the encoder once
    for n, conv in enumerate(warm):
        await conv.turn(n)
    await close_convs(warm)
    results["sequential"] = await sequential(url, 100)
    results["long"] = await long_conversation(url)
    results["rss_idle"] = await idle_memory(url, pid, 1000)
    results["echo"] = await echo_ceiling(base, 50, min(duration, 8))
    results["embed"] = await embed_ceiling(base, 512)
    for key, phase in (
        ("open_half", lambda: open_loop(url, 200, 10.0, duration)),
        ("open", lambda: open_loop(url, 200, 5.0, duration)),
        ("closed50", lambda: closed_loop(url, 50, min(duration, 12))),
        ("closed200", lambda: closed_loop(url, 200, min(duration, 12))),
    ):
        cpu_before = cpu_seconds(pid)
        results[key] = await phase()
        spent = cpu_seconds(pid) - cpu_before
        results[key]["cpu_ms"] = spent / max(results[key]["turns"], 1) * 1000
        results[key]["load"] = os.getloadavg()[0]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=25.0, help="open-loop seconds")
    parser.add_argument("--data", type=Path, help="data dir (default: a temporary one)")
    parser.add_argument(
        "--litellm", action="store_true", help="serve the instant model through litellm"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.data, args.port, args.litellm)
        return

    data = args.data or Path(tempfile.mkdtemp(prefix="shopdesk-bench-"))
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--data", str(data)]
        + (["--litellm"] if args.litellm else []),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        print("starting the server (indexes the demo knowledge base on first run)…", flush=True)
        line = ""
        deadline = time.monotonic() + 900
        while not line.startswith("READY") and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                raise SystemExit("server exited before it was ready")
        port = int(line.split()[1])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert json.load(response)["status"] == "ok"
        results = asyncio.run(measure(port, proc.pid, args.duration))
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    from bench.turns_report import report

    ok = report(results, args.duration)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
