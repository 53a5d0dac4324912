"""Staff sessions live in the shared database: behind a load balancer, a member of staff signed
in on one replica is signed in on every replica, and signing out anywhere signs out everywhere."""

from __future__ import annotations

from pathlib import Path

import httpx
import sqlalchemy as sa

from tests.shared_helpers import csrf_on, sign_in, two_replicas
from tests.ws_helpers import client


async def _handed_off(ws_url: str) -> str:
    async with client(ws_url) as ws:
        hello = await ws.hello()
        events = await ws.say("can I talk to a human?")
        assert any(e["type"] == "assistant_message" for e in events)
        return str(hello["conversation_id"])


async def test_staff_signed_in_on_one_replica_work_on_the_other_until_they_sign_out(
    database_url: str, tmp_path: Path
) -> None:
    with two_replicas(database_url, tmp_path) as (a, b):
        conv = await _handed_off(a.ws_url)
        with httpx.Client(follow_redirects=False) as http:
            csrf = sign_in(http, a.http_url)
            assert csrf_on(http, b.http_url) == csrf  # B renders the same token for the session
            listed = http.get(f"{b.http_url}/console/api/conversations").json()["conversations"]
            assert conv in [c["id"] for c in listed]
            headers = {"x-csrf-token": csrf, "accept": "application/json"}
            note = http.post(
                f"{b.http_url}/console/api/conversations/{conv}/note",
                data={"text": "Called her back"}, headers=headers,
            )  # fmt: skip
            assert note.status_code == 200, note.text
            forged = {"x-csrf-token": "0" * len(csrf), "accept": "application/json"}
            refused = http.post(
                f"{b.http_url}/console/api/conversations/{conv}/note",
                data={"text": "x"}, headers=forged,
            )  # fmt: skip
            assert refused.status_code == 403
            detail = http.get(f"{a.http_url}/console/api/conversations/{conv}").json()
            assert [n["text"] for n in detail["conversation"]["notes"]] == ["Called her back"]

            cookie = http.cookies.get("shopdesk_staff")
            out = http.post(f"{b.http_url}/console/logout", data={"csrf": csrf})
            assert out.status_code == 303
        with httpx.Client(cookies={"shopdesk_staff": cookie or ""}) as copied:
            # Nothing in the database is a credential: neither the cookie nor the CSRF token.
            engine = sa.create_engine(database_url)
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.text("SELECT token_hash, csrf_hash FROM agent_staff_sessions")
                )
                assert csrf not in {v for row in rows for v in row}
            engine.dispose()
            # Signed out on B: the copied cookie is refused on A.
            assert copied.get(f"{a.http_url}/console/api/conversations").status_code == 401
