"""A replica dies in the middle of a turn (`kill -9` of a `python -m agent serve` process): the
shopper reconnects to the other replica with the resume token, their message is there, the dead
replica's turn lock lapses with its lease, and the conversation goes on.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import tests.replica_model as replica_model
from tests.replica_helpers import drop_keys, replica, shared
from tests.ws_helpers import bell_server, client, eventually, last

MAYA, ORDER = "maya.chen@example.com", "WK-1001"
ROOT = Path(__file__).resolve().parent.parent
OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "ANONYMIZED_TELEMETRY": "False",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(data: Path, kb: Path, port: int, common: dict[str, Any]) -> subprocess.Popen[bytes]:
    """Replica A: the real `shopdesk serve` in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPDESK_")}
    env |= OFFLINE
    env |= {f"SHOPDESK_{k.upper()}": str(v) for k, v in common.items()}
    env |= {"SHOPDESK_ACTIONS": replica_model.__file__, "SHOPDESK_QUERY_MODEL": "onnx"}
    command = [sys.executable, "-m", "agent", "--data", str(data), "--kb", str(kb)]
    log = (data.parent / "a.log").open("wb")
    return subprocess.Popen(
        [*command, "serve", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=log
    )


def listening(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code < 500
    except httpx.HTTPError:
        return False


@pytest.fixture
def replicas(pg_url: str, tmp_path: Path) -> Iterator[tuple[str, Any, dict[str, Any]]]:
    common = shared(pg_url, model=replica_model.MODEL, turn_lease_seconds=3.0)
    kb = tmp_path / "kb"
    kb.mkdir()
    (tmp_path / "a").mkdir()
    port = free_port()
    a = serve(tmp_path / "a", kb, port, common)
    try:
        yield f"ws://127.0.0.1:{port}/ws", a, common
    finally:
        if a.poll() is None:
            a.kill()
        a.wait(30)
        drop_keys(common["redis_prefix"])


async def test_after_a_dies_mid_turn_the_shopper_carries_on_on_b_and_nothing_is_lost(
    replicas, tmp_path: Path
) -> None:
    a_url, a, common = replicas
    health = a_url.replace("ws://", "http://").replace("/ws", "/healthz")
    await eventually(lambda: a.poll() is None and listening(health), "A to serve", timeout=180)
    b = bell_server(replica(tmp_path / "b", common))
    try:
        async with client(a_url) as on_a, client(b.ws_url) as second_tab:
            await on_a.hello()
            said = await on_a.say("hello")
            assert last(said, "assistant_message")["text"] == "Noted: hello"
            credential = dict(on_a.credential)
            conv = credential["conversation_id"]
            assert (await second_tab.hello(**credential))["resumed"] is True
            await on_a.send(type="user_message", text="slow: where is my parcel?")
            await eventually(lambda: lock_held(common, conv), "A's turn to take the lock")
            # While A's turn runs (A alive, renewing its lease), B refuses a second message.
            refused = await second_tab.say("hello from the other tab")
            assert refused[-1]["type"] == "error" and refused[-1]["code"] == "busy"
            a.send_signal(signal.SIGKILL)  # in the middle of the turn: the model never answered
            a.wait(30)
        async with client(b.ws_url) as on_b:  # the shopper's widget reconnects, to B
            ready = await on_b.hello(**credential)
            assert ready["conversation_id"] == conv and ready["resumed"] is True
            texts = [m.get("text") for m in ready["transcript"]]
            assert "hello" in texts and "Noted: hello" in texts
            assert "slow: where is my parcel?" in texts  # stored before A died: not lost
            # A's lock outlives A by its lease only; then the conversation goes on, on B.
            await eventually(lambda: not lock_held(common, conv), "A's lease to lapse", 20)
            answers = await on_b.say("are you still there?")
            assert last(answers, "assistant_message")["text"] == "Noted: are you still there?"
    finally:
        b.stop()


async def test_a_yes_given_on_b_after_the_asking_replica_died_makes_the_return_once(
    replicas, tmp_path: Path
) -> None:
    a_url, a, common = replicas
    health = a_url.replace("ws://", "http://").replace("/ws", "/healthz")
    await eventually(lambda: a.poll() is None and listening(health), "A to serve", timeout=180)
    b = bell_server(replica(tmp_path / "b", common))
    try:
        async with client(a_url) as on_a, client(b.ws_url) as on_b:
            await on_a.hello()
            verify = {"order_id": ORDER, "email": MAYA}
            said = await on_a.say(f"call lookup_order {json.dumps(verify)}")
            assert last(said, "action_finished")["ok"] is True
            assert (await on_b.hello(**on_a.credential))["verified"] is True
            ask = {"order_id": ORDER, "lines": [{"sku": "CER-MUG-SAGE", "quantity": 1}],
                   "reason": "changed_mind", "resolution": "refund"}  # fmt: skip
            asked = (await on_a.say(f"call create_return_authorization {json.dumps(ask)}"))[-1]
            assert asked["type"] == "confirmation_request"
            assert (await on_b.until_end())[-1] == asked
            a.send_signal(signal.SIGKILL)  # the turn that asked is gone
            a.wait(30)
            # B hands the yes to A's turn, and when A's lease lapses, runs it itself.
            done = await on_b.answer(asked["id"], True)
            made = last(done, "action_finished")
            assert made["ok"] is True and made["action"] == "create_return_authorization"
            assert "prepaid return label" in last(done, "assistant_message")["text"]
        returns = b.app.state.services.workflow.for_customer(MAYA)
        assert [r.id for r in returns if r.order_id == ORDER] == [made["result"]["rma_id"]]
    finally:
        b.stop()


def lock_held(common: dict[str, Any], conv: str) -> bool:
    import redis

    r = redis.Redis.from_url(common["redis_url"])
    try:
        held = r.get(f"{common['redis_prefix']}turn:{conv}")
        return held is not None and not held.startswith(b"free:")  # released, or lapsed
    finally:
        r.close()
