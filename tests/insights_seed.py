"""A seeded insights data set with known answers, written through the real stores: conversations
with ConversationStore.append (fixed clock, the message shapes agent/turn/loop.py stores), returns with
the real ReturnsWorkflow over the demo orders (policy engine, ledger refunds).

Days are America/New_York (UTC-5 in November). The range 2026-11-18 … 2026-11-20 holds:
  c1 11-18 10:00  "Do you ship to Canada?" (confident) · "thanks!" (not a question)     AI resolved
  c2 11-18 22:30  (03:30Z on the 19th: still the 18th locally) "can you ship to canada?"
                  (confident) · "How long do I have to return an item?" (0.20 < 0.35)   AI resolved
  c3 11-19        "where is my order?" (lookup_order answered; low retrieval) · an order number
                  and email (not a question) · "Can I swap the plate for a bigger size?"
                  (check_eligibility: eligible, final_sale, not_delivered) · staff reply   staff
  c4 11-19        "Do you sell gift cards?" (0.20) · "can I talk to a human?" → handoff     handed off
  c5 11-20        "Is the wool sweater machine washable?" (answer stored no retrieval) →
                  handoff note, staff reply                                                  handed off
  c6 11-20        widget opened, nothing written: not a conversation
  c9 11-20 23:30  (04:30Z on the 21st) "do you ship to Canada" (confident)                AI resolved
  c10 11-20       "Can I buy a gift card?" (0.30 < 0.35)                                   AI resolved
Outside: c7 11-17 (a question + an eligibility check), c8 11-21 01:00 local.
Returns: RMA1 11-18 CER-MUG-SAGE ×2 changed_mind, refunded 11-19; RMA2 11-19 PRT-FERN-A4 ×2
changed_mind; RMA3 11-20 PRT-HERON-A3 ×1 damaged (manual review); RMA4 11-17 (outside) refunded
11-21 (outside).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from actions.ledger import LedgerGateway
from actions.policy import evaluate_line, load_policy
from actions.store.orders import OrderStore
from actions.workflow import ReturnsWorkflow
from agent.store.conversations import ConversationStore
from agent.turn.loop import retrieval_summary
from agent.turn.tools import HANDOFF_TOOL_NAME
from knowledge.models import Passage

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo-store"
THRESHOLD = 0.35


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def at(self, text: str) -> Clock:
        self.now = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return self


@dataclass
class Seeded:
    conversations: ConversationStore
    orders: OrderStore
    workflow: ReturnsWorkflow
    clock: Clock
    ids: dict[str, str] = field(default_factory=dict)
    rmas: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        self.conversations.close()
        self.orders.close()


def passage(source: str, heading: str, score: float) -> Passage:
    return Passage(source=source, heading=heading, text="…", score=score)


class Writer:
    """Appends messages to one conversation in the shapes run_turn and the server store."""

    def __init__(self, seeded: Seeded, key: str, created: str) -> None:
        self.s = seeded
        self.store = seeded.conversations
        seeded.clock.at(created)
        self.id = self.store.create().id
        seeded.ids[key] = self.id
        self.calls = 0

    def user(self, text: str) -> Writer:
        self.store.append(self.id, "user", {"role": "user", "content": text})
        return self

    def answer(
        self, text: str, confidence: float | None, top: list[Passage] | None = None
    ) -> Writer:
        content: dict[str, Any] = {"role": "assistant", "content": text}
        if confidence is not None:
            content["retrieval"] = retrieval_summary(top or [], confidence, THRESHOLD)
        self.store.append(self.id, "assistant", content, [])
        return self

    def tool(self, name: str, result: dict[str, Any], ok: bool = True) -> Writer:
        self.calls += 1
        call_id = f"call_{self.calls}"
        call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": "{}"}}
        self.store.append(
            self.id, "assistant", {"role": "assistant", "content": None, "tool_calls": [call]}
        )
        body = {"ok": True, "result": result} if ok else {"ok": False, "error": result}
        self.store.append(
            self.id,
            "tool",
            {"role": "tool", "tool_call_id": call_id, "name": name, "content": json.dumps(body)},
        )
        return self

    def handoff(self, reason: str = "The shopper asked for a person.") -> Writer:
        self.tool(HANDOFF_TOOL_NAME, {"message": "A person from the store has been asked…"})
        note = {"role": "system-note", "content": f"Handed off to a person: {reason}"}
        self.store.append(self.id, "system-note", note)
        self.store.set_status(self.id, "pending")
        return self

    def staff(self, text: str) -> Writer:
        self.store.append(self.id, "agent", {"role": "agent", "content": text, "name": "Sam"})
        return self

    def at(self, moment: str) -> Writer:
        self.s.clock.at(moment)
        return self


def _eligibility(orders: OrderStore, policy: Any, now: datetime, picks: list[tuple[str, str]]):
    lines = []
    for order_id, sku in picks:
        order = orders.find_order(order_id)
        line = order.line(sku)
        lines.append(
            evaluate_line(order, line, 1, "changed_mind", policy, now).model_dump(mode="json")
        )
    return {"order_id": picks[0][0], "reason": "changed_mind", "lines": lines, "message": "…"}


def seed(url: str) -> Seeded:
    clock = Clock()
    conversations = ConversationStore(url, clock=clock)
    conversations.migrate()
    orders = OrderStore(url)
    orders.migrate()
    orders.import_file(DEMO / "orders.json")
    policy = load_policy(DEMO / "policy.toml")
    workflow = ReturnsWorkflow(orders, clock=clock, payments=LedgerGateway(orders, clock))
    s = Seeded(conversations, orders, workflow, clock)
    shipping = passage("shipping.md", "Shipping > International", 0.81)
    returns = passage("returns.md", "Returns > Return window", 0.22)
    faq = passage("faq.md", "FAQ > Gift cards", 0.2)

    (Writer(s, "c1", "2026-11-18T15:00:00Z").user("Do you ship to Canada?")
        .answer("Yes, we ship to Canada.", 0.8, [shipping])
        .user("thanks!").answer("You're welcome!", 0.05))  # fmt: skip
    (Writer(s, "c2", "2026-11-19T03:30:00Z").user("can you ship to canada?")
        .answer("Yes.", 0.7, [shipping])
        .user("How long do I have to return an item?").answer("I'm not sure.", 0.2, [returns, faq]))  # fmt: skip
    w3 = Writer(s, "c3", "2026-11-19T16:00:00Z").user("where is my order?")
    w3.tool("lookup_order", {"order_id": "WK-1001", "status": "delivered", "message": "Delivered."})
    w3.answer("It was delivered on Nov 10.", 0.1, [faq]).user("WK1001 maya.chen@example.com")
    w3.answer("Thanks, found it.", 0.0).user("Can I swap the plate for a bigger size?")
    eligibility = _eligibility(orders, policy, clock(),
        [("WK-1001", "CER-PLT-SAGE"), ("WK-1002", "CER-MUG-ENGR"), ("WK-1008", "CER-BWL-RIM")])  # fmt: skip
    w3.tool("check_eligibility", eligibility).answer("The plate can be returned.", 0.3, [returns])
    w3.at("2026-11-19T16:30:00Z").staff("Hi, Sam here: we can also exchange it.")
    (Writer(s, "c4", "2026-11-19T18:00:00Z").user("Do you sell gift cards?")
        .answer("I don't know.", 0.2, [faq]).user("can I talk to a human?")
        .handoff().answer("A person will join.", 0.1, [faq]))  # fmt: skip
    (Writer(s, "c5", "2026-11-20T14:00:00Z").user("Is the wool sweater machine washable?")
        .answer("I'm not sure.", None).handoff("no answer").staff("Hand wash it, please."))  # fmt: skip
    Writer(s, "c6", "2026-11-20T15:00:00Z")  # opened, never used
    (Writer(s, "c9", "2026-11-21T04:30:00Z").user("do you ship to Canada")
        .answer("Yes.", 0.9, [shipping]))  # fmt: skip
    (Writer(s, "c10", "2026-11-20T20:00:00Z").user("Can I buy a gift card?")
        .answer("I don't know.", 0.3, [faq]))  # fmt: skip
    # Outside the range, on both sides.
    w7 = Writer(s, "c7", "2026-11-17T20:00:00Z").user("Do you ship to Canada?")
    w7.tool(
        "check_eligibility", _eligibility(orders, policy, clock(), [("WK-1001", "CER-MUG-SAGE")])
    )
    w7.answer("Yes.", 0.1, [])
    (Writer(s, "c8", "2026-11-21T06:00:00Z").user("Do you sell gift cards?")
        .answer("No idea.", 0.1, [faq]))  # fmt: skip

    def rma(key: str, at: str, order_id: str, sku: str, qty: int, reason: str) -> None:
        clock.at(at)
        order = orders.find_order(order_id)
        result = evaluate_line(order, order.line(sku), qty, reason, policy, clock())
        assert result.eligible, result.message
        s.rmas[key] = workflow.create_authorization(order, [result], reason, "refund")

    def refund(key: str, at: str) -> None:
        clock.at(at)
        rma_id = s.rmas[key].id
        if s.workflow.get(rma_id).status == "approved":
            workflow.transition(rma_id, "item_received")
        s.rmas[key] = workflow.transition(rma_id, "refunded")

    rma("rma4", "2026-11-17T15:00:00Z", "WK-1002", "CER-MUG-SAGE", 1, "changed_mind")
    rma("rma1", "2026-11-18T16:00:00Z", "WK-1001", "CER-MUG-SAGE", 2, "changed_mind")
    refund("rma1", "2026-11-19T18:00:00Z")
    rma("rma2", "2026-11-19T17:00:00Z", "WK-1004", "PRT-FERN-A4", 2, "changed_mind")
    rma("rma3", "2026-11-20T15:00:00Z", "WK-1003", "PRT-HERON-A3", 1, "damaged")
    refund("rma4", "2026-11-21T15:00:00Z")
    clock.at("2026-11-21T17:00:00Z")
    return s


__all__ = ["Clock", "Seeded", "seed"]
