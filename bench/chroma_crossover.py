"""Where dense ranking should move from memory to the Chroma server: the time of one top-30 query
as an exact scan of the in-memory vectors (what `KnowledgeBase._dense` does) against a query to a
`chroma run` server over HTTP (HNSW), at growing numbers of sections. Random unit vectors of the
model's 384 dimensions stand in for sections: ranking cost does not depend on the text.
Prints a table; not part of the test run.

    .venv/bin/python bench/chroma_crossover.py [--sizes 100,1000,10000,50000] [--queries 200]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's packages

from agent.app.offline_env import use_offline_env  # noqa: E402

use_offline_env()  # before chromadb loads

import argparse  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import httpx  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from knowledge import embedding  # noqa: E402
from knowledge.models import Chunk  # noqa: E402
from knowledge.remote import RemoteVectorStore  # noqa: E402

CANDIDATES = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_chroma(path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    chroma = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.terminate()
    raise SystemExit("the Chroma server did not start")


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, embedding.DIMENSIONS)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _in_memory(matrix: np.ndarray, query: np.ndarray) -> None:
    sims = matrix @ query
    n = min(CANDIDATES, len(sims))
    top = np.argpartition(-sims, n - 1)[:n] if n < len(sims) else np.arange(len(sims))
    top[np.argsort(-sims[top], kind="stable")]


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


def _measure(store: RemoteVectorStore, matrix: np.ndarray, queries: np.ndarray) -> tuple[float, ...]:  # fmt: skip
    memory, remote = [], []
    for q in queries:
        started = time.perf_counter()
        _in_memory(matrix, q)
        memory.append(time.perf_counter() - started)
        started = time.perf_counter()
        store.query(q, CANDIDATES)
        remote.append(time.perf_counter() - started)
    return (*_ms(memory), *_ms(remote))


def _grow(store: RemoteVectorStore, matrix: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """Add sections to the server (and the in-memory copy) up to `size`."""
    have = len(matrix)
    vectors = _unit(rng, size - have)
    chunks = [Chunk(id=f"s{i}", source=f"f{i // 20}.md", heading="h", part=0, text="t", hash=str(i))
              for i in range(have, size)]  # fmt: skip
    store.upsert(chunks, vectors)
    return np.concatenate([matrix, vectors])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000,50000")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    rng = np.random.default_rng(16)
    queries = _unit(rng, args.queries)
    table = Table(
        title=f"Dense top-{CANDIDATES}: in memory vs Chroma server ({args.queries} queries)"
    )
    for col in ("sections", "memory p50 ms", "memory p99 ms", "chroma p50 ms", "chroma p99 ms"):
        table.add_column(col, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = _start_chroma(Path(tmp) / "chroma")
        try:
            store = RemoteVectorStore(url)
            matrix = np.zeros((0, embedding.DIMENSIONS), dtype=np.float32)
            for size in sizes:
                matrix = _grow(store, matrix, size, rng)
                row = _measure(store, matrix, queries)
                table.add_row(f"{size:,}", *(f"{v:.3f}" for v in row))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    Console().print(table)


if __name__ == "__main__":
    main()
