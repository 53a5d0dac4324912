"""The offline model's decision: the next step, from what `Memory` reads of the request.

What it does, in the order it checks:
- a yes/no to its own offer (start the return? make the label? talk to a person?);
- a request it recognises from the actions' descriptions and examples — a return, tracking, a label,
  an order lookup, or a developer's own action — with the details (order number, email, item,
  reason, resolution) read from everything the shopper has said; what is missing it asks for;
- anything else is a question: quote the best passage with its marker [n], or, below the retrieval
  confidence threshold, say it does not know and offer a person.
Action results are relayed through their own `message` (and a label's URL): the model never words
money or policy itself.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from agent.models.base import ModelReply, ToolCall
from agent.models.offline import slots
from agent.models.offline.abstain import abstain
from agent.models.offline.memory import states_reason
from agent.models.offline.mine import LIST_TOOL, SignedIn
from agent.models.offline.photos import photo_follow_up
from agent.models.offline.questions import answer_parts
from agent.models.offline.returning import ReturnFlows
from agent.models.offline.routing import (
    FLOWS,
    HANDOFF_TOOL,
    OFFER_LABEL,
    OFFER_PERSON,
    OFFER_RETURN,
    RETURN_RE,
    Tool,
    classify,
)
from agent.models.offline.state import ToolOutcome
from agent.models.offline.status import StatusFlows
from agent.models.offline.unserved import Unserved
from agent.models.questions import only_questions


class Planner(ReturnFlows, StatusFlows, SignedIn, Unserved):
    """Decides the next step from what `Memory` reads (a return: `ReturnFlows`; returns already
    made: `StatusFlows`; a verified shopper's own orders: `SignedIn`; requests no action serves:
    `Unserved`)."""

    # Entry ---------------------------------------------------------------------------------------
    def reply(self) -> ModelReply:
        if not self.conv.user_turns:
            return self.say(self.greeting())
        if (follow_up := photo_follow_up(self)) is not None:
            return follow_up
        offered = self.conv.previous_assistant_text()
        answer = slots.leading_answer(self.text)  # "yes, go ahead and …" answers the offer too
        if OFFER_RETURN in offered and answer is None and self.asks_again(self.text):
            return self.return_flow(consent=None)  # "can I send them back?": the offer stands
        if answer is not None:
            if OFFER_RETURN in offered:
                return self.return_flow(consent=answer == "yes")
            if OFFER_LABEL in offered:
                return self.label_flow(consent=answer == "yes")
            if OFFER_PERSON in offered:
                if answer == "yes":
                    return self.person()
                return self.say("Alright. What else can I help with?")
        if (unserved := self.unserved_reply()) is not None:
            return self.say(unserved)
        intent = classify(self.text, self.tools, self.order_re, self.meaning)
        if intent in ("yes", "no"):
            if self.ongoing_flow() is None:
                return self.say(
                    "Okay! What would you like to do next?"
                    if intent == "yes"
                    else "No problem. Is there anything else I can help with?"
                )
            intent = ""
        intent = self.in_context(intent)
        if intent in ("why", "next"):
            about = self.why_flow() if intent == "why" else self.next_flow()
            if about is not None:
                return about
            intent = "question"
        if intent == "status":
            return self.status_flow()
        if intent == "return":
            return self.return_flow(consent=None)
        if intent == "track":
            return self.track_flow()
        if intent == "label":
            return self.label_flow(consent=True)
        if intent == "lookup":
            return self.lookup_flow()
        if intent.startswith("tool:"):
            return self.custom_flow(self.tools[intent[5:]])
        if intent == "person":
            return self.person()
        if intent == "greeting":
            return self.say(self.greeting())
        if intent == "thanks":
            return self.say("You're welcome! Is there anything else I can help with?")
        if intent == "no":
            return self.say("No problem. Is there anything else I can help with?")
        return self.say(self.answer_question()) if self.facts.answerable else abstain()

    def in_context(self, intent: str) -> str:
        """The intent of the latest words in the light of the conversation: details for the
        request under way, a verified shopper's own order, a reason stated on its own."""
        if intent == "" or (intent in ("question", "lookup") and self.gives_details()):
            intent = self.ongoing_flow() or intent
        if intent == "" and self.order_ids_in(self.text):
            intent = "lookup"  # an order number on its own: look the order up
        intent = self.signed_in_intent(intent)
        if intent in FLOWS and only_questions(self.text) and not self.gives_details():
            intent = "question"
        if intent in ("", "question") and (
            states_reason(self.text) or self.asks_about_own_window()
        ):
            intent = "return"  # "we changed our minds about the candle holders"
        return intent

    # Replies ------------------------------------------------------------------------------------
    def say(self, text: str) -> ModelReply:
        return ModelReply(text=text.strip())

    def call(self, name: str, arguments: dict[str, Any]) -> ModelReply:
        # Never the same call twice in one turn: a repeat would loop; relay what came back instead.
        for outcome in self.turn:
            if outcome.name == name and outcome.arguments == arguments:
                return self.say(self.relay() or outcome.message)
        digest = hashlib.sha256(
            f"{len(self.conv.messages)}|{name}|{json.dumps(arguments, sort_keys=True)}".encode()
        ).hexdigest()[:16]
        return ModelReply(
            tool_calls=[ToolCall(id=f"call_{digest}", name=name, arguments=arguments)]
        )

    def call_many(self, name: str, argument_sets: list[dict[str, Any]]) -> ModelReply:
        """Several calls of one action in one reply (the loop runs them in order)."""
        if len(argument_sets) == 1:
            return self.call(name, argument_sets[0])
        calls = [self.call(name, arguments).tool_calls for arguments in argument_sets]
        if not all(calls):  # one was already made this turn: relay instead of looping
            return self.say(self.relay())
        return ModelReply(tool_calls=[c for group in calls for c in group])

    def relay(self, outcomes: list[ToolOutcome] | None = None) -> str:
        """This turn's action results, in the actions' own words."""
        parts: list[str] = []
        for outcome in outcomes if outcomes is not None else self.turn:
            if outcome.name == LIST_TOOL:  # a means to pick the order, not news (mine.py)
                continue
            message = outcome.message
            if outcome.ok:
                url = outcome.result.get("label_url") or outcome.result.get("url")
                if url and str(url) not in message:
                    message = f"{message} Your label: {url}".strip()
            elif outcome.code == "declined":
                message = f"Okay — I haven't done that ({outcome.name.replace('_', ' ')})."
            if message and message not in parts:
                parts.append(message)
        return " ".join(parts)

    def greeting(self) -> str:
        store = self.facts.store_name or "the store"
        return (
            f"Hi! I'm {store}'s assistant. I can answer questions about our policies, look up an "
            "order, start a return or track a parcel. How can I help?"
        )

    def person(self) -> ModelReply:
        """Hand over to a person through the loop's handoff tool (if the loop offers one)."""
        done = [o for o in self.turn if o.name == HANDOFF_TOOL]
        if done:
            return self.say(self.relay())
        if HANDOFF_TOOL in self.tools:
            return self.call(HANDOFF_TOOL, {"reason": f"The shopper asked: {self.text[:200]}"})
        return self.say(
            "I can't bring a person into this chat myself — please contact the store directly."
        )

    def answer_question(self) -> str:
        facts = self.facts
        if not facts.answerable:
            return abstain().text  # (reply() returns the marked reply itself)
        question = self.text
        if len(facts.questions) > 1:  # each question its own passage and citation
            return answer_parts(facts.questions, facts.passages, facts.threshold)
        rank, passage = max(
            enumerate(facts.passages),
            key=lambda pair: (self.passage_score(question, pair[1], pair[0]), -pair[0]),
        )
        answer = f"{slots.best_sentences(question, passage.text)} [{rank + 1}]"
        if RETURN_RE.search(question) and "check_eligibility" in self.tools:
            answer += (
                " If you'd like to start a return, tell me your order number and the email "
                "address you used for the order."
            )
        return answer

    # Slots --------------------------------------------------------------------------------------
    def ask_identity(self, order_id: str | None, email: str | None, what: str) -> ModelReply:
        prefix = self.relay()
        if not order_id and not email:
            text = (
                f"I can help with {what}. What's your order number, and the email address you "
                "used for the order?"
            )
        elif not order_id:
            text = f"I can help with {what}. What's the order number?"
        else:
            text = f"Thanks! And what email address did you use for order {order_id}?"
        return self.say(f"{prefix} {text}" if prefix else text)

    def verified_order(self, what: str) -> tuple[dict[str, Any] | None, ModelReply | None]:
        """The shopper's order, verified by lookup_order — or the reply that gets there."""
        order_id, email = self.order_id(), self.email()
        if not order_id and self.can_list_orders():
            order_id, reply = self.my_order(what)
            if reply is not None:
                return None, reply
        if not order_id or not email:
            return None, self.ask_identity(order_id, email, what)
        order = self.order(order_id)
        if order is not None:
            return order, None
        failed = [o for o in self.turn if o.name == "lookup_order" and not o.ok]
        if failed:
            return None, self.say(failed[-1].message)
        return None, self.call("lookup_order", {"order_id": order_id, "email": email})

    # Flows --------------------------------------------------------------------------------------
    def label_flow(self, consent: bool) -> ModelReply:
        labels = [o for o in self.turn if o.name == "generate_label"]
        if labels:
            return self.say(self.relay())
        if not consent:
            return self.say("Okay — no label for now. Just ask whenever you want one.")
        rma = self.last_rma()
        if rma is None:
            if "check_eligibility" in self.tools:
                return self.return_flow(consent=None)
            return self.say(f"I don't see a return in this conversation yet. {OFFER_PERSON}")
        return self.call("generate_label", {"rma_id": rma["rma_id"]})

    def track_flow(self) -> ModelReply:
        tracked = [o for o in self.turn if o.name == "fetch_tracking"]
        if tracked:
            return self.say(self.relay())
        explicit = self.order_ids_in(self.text)
        label = self.conv.last("generate_label", ok=True)
        if (
            not explicit
            and label
            and label.result.get("tracking_number")
            and self.facts.customer_email
        ):
            return self.call("fetch_tracking", {"tracking_number": label.result["tracking_number"]})
        order_id = explicit[-1] if explicit else self.order_id()
        verified = self.facts.customer_email
        if verified and order_id and self.email() == verified:
            return self.call("fetch_tracking", {"order_id": order_id})
        # Not verified yet, or the shopper gave another email: check number + email first.
        order, reply = self.verified_order("tracking your parcel")
        if reply is not None:
            return reply
        assert order is not None
        return self.call("fetch_tracking", {"order_id": order["order_id"]})

    def lookup_flow(self) -> ModelReply:
        order, reply = self.verified_order("that")
        if reply is not None:
            return reply
        text = self.relay() or str((order or {}).get("message", ""))
        return self.say(text or "I found your order.")

    def custom_flow(self, tool: Tool) -> ModelReply:
        done = [o for o in self.turn if o.name == tool.name]
        if done:
            return self.say(self.relay())
        known = self.known_values()
        arguments: dict[str, Any] = {}
        missing = []
        for param in tool.properties:
            if param in known and known[param] is not None:
                arguments[param] = known[param]
            elif param in tool.required:
                missing.append(param)
        if missing:
            wanted = "; ".join(
                str(tool.properties[p].get("description") or p.replace("_", " ")) for p in missing
            )
            return self.say(f"To do that I need: {wanted}")
        return self.call(tool.name, arguments)
