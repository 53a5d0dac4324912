"""Query-encoder benchmark: the ONNX path against the torch path, and the whole server's start.

    .venv/bin/python bench/encoder.py [--queries 200] [--passages 160] [--server] [--data DIR]

Each encoder path runs in a fresh subprocess, so its import time and memory are its own: import +
load, the first query, the median single query (one thread), the process RSS after the queries, and
the batched passage rate on every core (embed_passages, which follows the query path) and the RSS
after it. `--server` also times `shopdesk serve` (both query paths,
via SHOPDESK_QUERY_MODEL) from launch to /healthz and to the first policy answer over /ws, with its
CPU seconds to /healthz and its RSS at rest; DIR is indexed first when it has no index. The export
is made once into DIR/models (or a temp dir). Prints tables; not part of the test run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's packages, whichever one is installed

from agent.app.offline_env import use_offline_env  # noqa: E402

use_offline_env()  # before torch, transformers, chromadb or litellm load

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
from typing import Any  # noqa: E402

QUESTION = "Can I return an engraved mug?"


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


# One encoder path, in a child process ------------------------------------------------------------
def child(path: str, cache: Path, queries: int, passages: int) -> dict[str, Any]:
    started = time.perf_counter()
    from knowledge import embedding

    if path == "onnx":
        if not embedding.use_onnx_queries(cache, export=False):
            raise SystemExit(f"no usable ONNX export in {cache}")
    else:
        embedding.warm_up_queries()  # torch + its frozen TorchScript copy, as servers did
    loaded = time.perf_counter() - started
    encoder = embedding.QueryEncoder(cache_size=1)
    t = time.perf_counter()
    encoder.encode("what is the very first question?")
    first = time.perf_counter() - t
    times = []
    for n in range(queries):  # unique texts: a cache hit would flatter the figure
        t = time.perf_counter()
        encoder.encode(f"question {n}: how long do refunds for order {n * 7919} take?")
        times.append(time.perf_counter() - t)
    rss = rss_mb()
    modules = [m for m in ("torch", "transformers", "onnxruntime") if m in sys.modules]
    texts = [
        f"Passage {n}. " + "Returns are accepted within thirty days of delivery. " * (n % 9 + 1)
        for n in range(passages)
    ]
    cores = len(os.sched_getaffinity(0))
    t = time.perf_counter()
    embedding.embed_passages(texts, threads=cores)  # onnx too, once queries switched to it
    rate = len(texts) / (time.perf_counter() - t)
    return {
        "rss_passages": rss_mb(),
        "load": loaded,
        "first": first,
        "median": statistics.median(times),
        "rss": rss,
        "rate": rate,
        "modules": modules,
    }


def run_child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def export(cache: Path) -> dict[str, Any]:
    from knowledge import embedding

    started = time.perf_counter()
    path = embedding.export_query_model(cache)
    if path is None:
        raise SystemExit("the export failed or was refused (see the log)")
    return {"path": str(path), "seconds": time.perf_counter() - started}


# The whole server --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def first_answer(port: int) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    async with connect(f"ws://127.0.0.1:{port}/ws") as ws:
        await ws.send(json.dumps({"type": "hello"}))
        while json.loads(await ws.recv())["type"] != "ready":
            pass
        await ws.send(json.dumps({"type": "user_message", "text": QUESTION}))
        while True:
            event = json.loads(await ws.recv())
            if event["type"] in ("assistant_message", "handoff", "error"):
                return event


def server_start(data: Path, query_model: str, root: Path = ROOT) -> dict[str, Any]:
    port = free_port()
    env = dict(os.environ, SHOPDESK_QUERY_MODEL=query_model)
    command = [sys.executable, "-m", "agent", "--data", str(data), "serve", "--port", str(port)]
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*command, "--log-level", "warning"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if proc.poll() is not None:
                raise SystemExit(proc.stderr.read().decode() if proc.stderr else "server died")
            time.sleep(0.05)
        healthz, cpu = time.perf_counter() - started, cpu_seconds(proc.pid)
        event = asyncio.run(first_answer(port))
        answered = time.perf_counter() - started
        time.sleep(3)  # at rest: start-up work done, no conversation running
        return {
            "healthz": healthz,
            "answer": answered,
            "cpu": cpu,
            "rss": rss_mb(proc.pid),
            "event": event["type"],
            "cited": bool(event.get("citations")),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--passages", type=int, default=160, help="for the batched rate")
    parser.add_argument("--server", action="store_true", help="also time `shopdesk serve`")
    parser.add_argument("--data", type=Path, help="data directory (default: a temp dir)")
    parser.add_argument("--runs", type=int, default=2, help="server starts per path")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a checkout of an earlier commit (git worktree add DIR REV): its server is timed in "
        "the same run, with a data directory of its own, as the 'before' rows",
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child[0] == "export":
            print(json.dumps(export(Path(args.child[1]))))
        else:
            path, cache, queries, passages = args.child
            print(json.dumps(child(path, Path(cache), int(queries), int(passages))))
        return

    from rich.console import Console
    from rich.table import Table

    console = Console()
    with tempfile.TemporaryDirectory() as scratch:
        data = args.data or Path(scratch) / "data"
        cache = data / "models"
        made = run_child("export", str(cache))
        console.print(f"ONNX export: {made['path']} (ready in {made['seconds']:.1f}s)")
        table = Table(title=f"Query encoder, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
        for column in ("path", "import+load", "first query", "median query (1 thread)"):
            table.add_column(column, justify="right")
        table.add_column("RSS", justify="right")
        table.add_column(f"passages/s ({len(os.sched_getaffinity(0))} threads)", justify="right")
        table.add_column("RSS after", justify="right")
        table.add_column("loaded")
        for path in ("onnx", "torch"):
            r = run_child(path, str(cache), str(args.queries), str(args.passages))
            table.add_row(
                path,
                f"{r['load']:.2f} s",
                f"{r['first'] * 1000:.1f} ms",
                f"{r['median'] * 1000:.1f} ms",
                f"{r['rss']:.0f} MB",
                f"{r['rate']:.0f}",
                f"{r['rss_passages']:.0f} MB",
                ", ".join(r["modules"]),
            )
        console.print(table)
        if args.server:
            server_table(console, data, args.runs, args.baseline)


def _indexed(data: Path, root: Path) -> Path:
    if not (data / "knowledge.sqlite").exists():
        subprocess.run(
            [sys.executable, "-m", "agent", "--data", str(data), "index"], cwd=root, check=True
        )
    return data


def server_table(console: Any, data: Path, runs: int, baseline: Path | None) -> None:
    from rich.table import Table

    servers = [("onnx", data, ROOT), ("torch", data, ROOT)]
    if baseline is not None:
        servers.insert(0, ("before", baseline.resolve() / ".bench-data", baseline.resolve()))
    for _, folder, root in servers:
        _indexed(folder, root)
    table = Table(title=f"shopdesk serve, launch → … (load {os.getloadavg()[0]:.1f})")
    for column in ("server", "/healthz", "first answer /ws", "CPU to /healthz", "RSS at rest"):
        table.add_column(column, justify="right")
    table.add_column("answer")
    for _ in range(runs):
        for query_model, folder, root in servers:
            r = server_start(folder, "torch" if query_model == "before" else query_model, root)
            table.add_row(
                query_model,
                f"{r['healthz']:.2f} s",
                f"{r['answer']:.2f} s",
                f"{r['cpu']:.2f} s",
                f"{r['rss']:.0f} MB",
                r["event"] + (" (cited)" if r["cited"] else ""),
            )
    console.print(table)


if __name__ == "__main__":
    main()
