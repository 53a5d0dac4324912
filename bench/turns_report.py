"""The turn benchmark's table (bench/turns.py measures; this prints and judges)."""

from __future__ import annotations

import os

Row = tuple[str, str, str, bool | None]


def _rows(results: dict, duration: float) -> list[Row]:
    seq, half = results["sequential"], results["open_half"]
    long = results["long"]
    growth = long["last_ms"] / max(long["first_ms"], 1e-9)
    rows = [
        (
            f"one conversation: turns 1-10 vs {long['turns'] - 9}-{long['turns']} (p50)",
            f"{long['first_ms']:.1f} ms vs {long['last_ms']:.1f} ms ({growth:.2f}×)",
            "≤ 1.2×",
            growth <= 1.2,
        ),
        ("ceiling: websocket echo (50 conns)", f"{results['echo']:.0f} round-trips/s", "", None),
        ("ceiling: embedding, batched queries", f"{results['embed']:.0f} queries/s", "", None),
        (
            "one conversation, turns in sequence",
            f"server-added p50 {seq['p50_ms']:.1f} ms, p99 {seq['p99_ms']:.1f} ms",
            "",
            None,
        ),
        (
            "open loop at half the rate: 200 convs × 1 msg/10 s",
            f"{half['rate']:.1f} turns/s: server-added p50 {half['p50_ms']:.1f} ms, "
            f"p99 {half['p99_ms']:.1f} ms",
            "",
            None,
        ),
    ]
    return rows + _load_rows(results, duration)


def _load_rows(results: dict, duration: float) -> list[Row]:
    opened, c50, c200 = results["open"], results["closed50"], results["closed200"]
    ceiling = min(results["echo"], results["embed"])
    before, after = results["rss_idle"]
    return [
        (
            f"open loop: 200 convs × 1 msg/5 s, {duration:.0f} s",
            f"{opened['turns']} turns, {opened['rate']:.1f}/s, {opened['errors']} errors",
            "≈40/s",
            opened["errors"] == 0,
        ),
        (
            "  server CPU per turn (all threads)",
            f"{opened['cpu_ms']:.1f} ms (load avg {opened['load']:.1f}, {os.cpu_count()} cores)",
            "",
            None,
        ),
        (
            "  server-added latency p50",
            f"{opened['p50_ms']:.1f} ms",
            "≤ 25 ms",
            opened["p50_ms"] <= 25,
        ),
        (
            "  server-added latency p99",
            f"{opened['p99_ms']:.1f} ms",
            "≤ 100 ms",
            opened["p99_ms"] <= 100,
        ),
        (
            "closed loop: 50 convs",
            f"{c50['rate']:.1f} turns/s, {c50['cpu_ms']:.0f} ms CPU/turn, {c50['errors']} errors",
            f"≥ {ceiling / 2:.0f}/s",
            c50["rate"] >= ceiling / 2,
        ),
        (
            "closed loop: 200 convs",
            f"{c200['rate']:.1f} turns/s, {c200['cpu_ms']:.0f} ms CPU/turn, {c200['errors']} errors",
            f"≥ {ceiling / 2:.0f}/s",
            c200["rate"] >= ceiling / 2,
        ),
        (
            "memory: 1,000 idle connections",
            f"+{after - before:.0f} MB ({before:.0f} → {after:.0f} MB RSS)",
            "< 300 MB",
            after - before < 300,
        ),
    ]


def report(results: dict, duration: float) -> bool:
    from rich.console import Console
    from rich.table import Table

    rows = _rows(results, duration)
    table = Table(title="shopdesk turns (instant in-process model, loopback, one server)")
    table.add_column("measure")
    table.add_column("result", justify="right")
    table.add_column("target", justify="right")
    table.add_column("ok", justify="center")
    for name, value, target, ok in rows:
        table.add_row(name, value, target, "" if ok is None else ("✓" if ok else "✗"))
    Console().print(table)
    return all(ok for *_, ok in rows if ok is not None)
