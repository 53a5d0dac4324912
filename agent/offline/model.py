"""`shopdesk/offline`: a deterministic model that needs no network and no weights.

`OfflineModel().respond(messages, tools)` reads the whole conversation (system prompt with passages
and identity, the shopper's messages, earlier action calls and results), decides the next step and
answers with text or one tool call. It is a pure function of its input: same messages, same reply.

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
import re
from dataclasses import dataclass, field
from typing import Any

from agent.llm import ModelReply, ToolCall
from agent.offline import slots
from agent.offline.state import Conversation, ToolOutcome, read_conversation

OFFER_RETURN = "Shall I start this return for you?"
OFFER_LABEL = "Would you like me to create the prepaid return label now?"
OFFER_PERSON = "Would you like me to pass you to a person from the store?"
ASK_REASON_EXAMPLES = (
    "for example, you changed your mind, it arrived damaged, it's the wrong size, "
    "or we made a mistake with it"
)

PERSON_RE = re.compile(
    r"\b(?:human|real person|a person|someone|somebody|agent|representative|staff|"
    r"customer service|support team|speak to|talk to)\b",
    re.I,
)
GREETING_RE = re.compile(
    r"^\s*(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening))\b[\s!.,]*$", re.I
)
THANKS_RE = re.compile(r"^\s*(?:thanks|thank you|thx|cheers|great,? thanks)\b", re.I)
TRACK_RE = re.compile(
    r"\b(?:track|tracking|where(?:'s| is) (?:my|the)\s+(?:\w+\s+)?(?:parcel|package|order|"
    r"delivery|shipment|return|item)|where(?:'s| is) it|has it shipped|shipped yet|"
    r"when will (?:it|my \w+) (?:arrive|come|be delivered)|delivery status|not arrived|"
    r"hasn't arrived|has not arrived|still waiting)\b",
    re.I,
)
LABEL_RE = re.compile(r"\b(?:label|shipping slip|postage)\b", re.I)
RETURN_RE = re.compile(
    r"\b(?:return|returning|send (?:it|this|them|the \w+) back|sending (?:it|this|them) back|"
    r"refund|exchange|replacement|money back)\b",
    re.I,
)
# "I want to return…", "please start a return…" act; "can I return…?" asks about the policy.
ACT_RE = re.compile(
    r"\b(?:i want|i'd like|i would like|i need|i wanna|i'm returning|im returning|help me|"
    r"please|start (?:a|the|my) return|let's|lets|go ahead|i'd love|can you|could you|"
    r"would you|return (?:it|this|them)\b|from my order|my order)",
    re.I,
)
QUESTION_START_RE = re.compile(
    r"^\s*(?:can|could|do|does|is|are|what|what's|how|when|which|why|will|if|may)\b", re.I
)
LOOKUP_RE = re.compile(
    r"\b(?:my order|order status|status of (?:my )?order|look ?up|check (?:on )?my order)\b", re.I
)

FLOWS = ("return", "track", "label", "lookup")


@dataclass
class Tool:
    name: str
    description: str
    properties: dict[str, Any]
    required: list[str]
    examples: list[str] = field(default_factory=list)
    defs: dict[str, Any] = field(default_factory=dict)

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return self.defs.get(ref.rsplit("/", 1)[-1], {})
        return schema

    def enum(self, param: str) -> list[str] | None:
        schema = self._resolve(self.properties.get(param, {}))
        for option in [schema, *schema.get("anyOf", [])]:
            option = self._resolve(option)
            if "enum" in option:
                return [str(v) for v in option["enum"]]
        return None

    def default(self, param: str) -> Any:
        return self.properties.get(param, {}).get("default")


def read_tools(tools: list[dict[str, Any]]) -> dict[str, Tool]:
    catalogue: dict[str, Tool] = {}
    for tool in tools:
        function = tool.get("function") or {}
        name = str(function.get("name") or "")
        description = str(function.get("description") or "")
        params = function.get("parameters") or {}
        examples = []
        if "Examples:" in description:
            description, _, tail = description.partition("Examples:")
            examples = re.findall(r'"((?:[^"\\]|\\.)*)"', tail)
        examples += [str(e) for e in tool.get("examples") or function.get("x-examples") or []]
        catalogue[name] = Tool(
            name=name,
            description=description.strip(),
            properties=params.get("properties") or {},
            required=list(params.get("required") or []),
            examples=examples,
            defs=params.get("$defs") or {},
        )
    return catalogue


# Classifying the shopper's latest words ---------------------------------------------------------
def classify(text: str, tools: dict[str, Tool], order_re: re.Pattern[str]) -> str:
    """One of: yes, no, person, greeting, thanks, track, label, return, lookup, tool:<name>,
    question, or '' (nothing recognisable: details for an ongoing request)."""
    short = len(slots.words(text)) <= 6
    if short and slots.is_no(text):
        return "no"
    if short and slots.is_yes(text):
        return "yes"
    if PERSON_RE.search(text) and re.search(
        r"\b(?:talk|speak|chat|person|human|agent)\b", text, re.I
    ):
        return "person"
    if GREETING_RE.match(text):
        return "greeting"
    if THANKS_RE.match(text) and short:
        return "thanks"
    has_order = bool(slots.find_order_ids(text, order_re))
    custom = _best_custom_tool(text, tools)
    if custom:
        return f"tool:{custom}"
    if TRACK_RE.search(text) and "fetch_tracking" in tools:
        return "track"
    if LABEL_RE.search(text) and "generate_label" in tools and not QUESTION_START_RE.match(text):
        return "label"
    if (
        LABEL_RE.search(text)
        and "generate_label" in tools
        and re.search(r"\b(my|the)\b", text, re.I)
    ):
        return "label"
    is_question = QUESTION_START_RE.match(text) is not None
    if RETURN_RE.search(text) and "check_eligibility" in tools:
        if has_order or ACT_RE.search(text) or not is_question:
            return "return"
        return "question"
    if (
        slots.find_reason(text)
        and not is_question
        and re.search(r"\b(?:my|it|arrived|came)\b", text, re.I)
    ):
        return "return"
    if (has_order or (LOOKUP_RE.search(text) and not is_question)) and "lookup_order" in tools:
        return "lookup"
    if is_question or text.strip().endswith("?") or len(slots.words(text)) > 8:
        return "question"
    return ""


BUILTIN = {
    "lookup_order",
    "check_eligibility",
    "create_return_authorization",
    "generate_label",
    "fetch_tracking",
}


def _best_custom_tool(text: str, tools: dict[str, Tool]) -> str | None:
    """A developer's own action whose examples the text closely matches."""
    best, best_score = None, 0.0
    terms = slots.content_terms(text)
    for tool in tools.values():
        if tool.name in BUILTIN:
            continue
        for example in tool.examples or [tool.description]:
            shared = terms & slots.content_terms(example)
            score = len(shared) / max(1, len(slots.content_terms(example)))
            if len(shared) >= 2 and score >= 0.5 and score > best_score:
                best, best_score = tool.name, score
    return best


# The decision -----------------------------------------------------------------------------------
class OfflineModel:
    """The litellm handler behind `shopdesk/offline`."""

    def respond(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply:
        return Planner(messages, tools).reply()


class Planner:
    def __init__(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> None:
        self.conv: Conversation = read_conversation(messages)
        self.tools = read_tools(tools)
        self.facts = self.conv.facts
        self.order_re = slots.order_pattern(self.facts.order_id_pattern)
        self.turn = self.conv.this_turn()
        self.text = self.conv.last_user_text

    # Entry ---------------------------------------------------------------------------------------
    def reply(self) -> ModelReply:
        if not self.conv.user_turns:
            return self.say(self.greeting())
        intent = classify(self.text, self.tools, self.order_re)
        offered = self.conv.previous_assistant_text()
        if intent in ("yes", "no"):
            if OFFER_RETURN in offered:
                return self.return_flow(consent=intent == "yes")
            if OFFER_LABEL in offered:
                return self.label_flow(consent=intent == "yes")
            if OFFER_PERSON in offered:
                return self.say(
                    self.person() if intent == "yes" else "Alright. What else can I help with?"
                )
            if self.ongoing_flow() is None:
                return self.say(
                    "Okay! What would you like to do next?"
                    if intent == "yes"
                    else "No problem. Is there anything else I can help with?"
                )
            intent = ""
        if intent == "" or (intent in ("question", "lookup") and self.gives_details()):
            intent = self.ongoing_flow() or intent
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
            return self.say(self.person())
        if intent == "greeting":
            return self.say(self.greeting())
        if intent == "thanks":
            return self.say("You're welcome! Is there anything else I can help with?")
        if intent == "no":
            return self.say("No problem. Is there anything else I can help with?")
        return self.say(self.answer_question())

    def gives_details(self) -> bool:
        """Does the latest message carry details an ongoing request was waiting for?"""
        text = self.text
        return bool(
            slots.find_order_ids(text, self.order_re)
            or slots.find_emails(text)
            or slots.find_reason(text)
            or (len(slots.words(text)) <= 8 and self.match_item_any(text))
        )

    def ongoing_flow(self) -> str | None:
        """The request the shopper was in the middle of, if the assistant's last words asked for
        something (a question mark) and the latest message is a reply to it."""
        asked = self.conv.previous_assistant_text().rstrip().endswith("?")
        if not asked and not self.gives_details():
            return None
        for _index, text in reversed(self.conv.user_turns[:-1]):
            intent = classify(text, self.tools, self.order_re)
            if intent in FLOWS or intent.startswith("tool:"):
                return intent
            if intent in ("question", "greeting", "thanks", "person", "no"):
                return None
        return None

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

    def relay(self, outcomes: list[ToolOutcome] | None = None) -> str:
        """This turn's action results, in the actions' own words."""
        parts: list[str] = []
        for outcome in outcomes if outcomes is not None else self.turn:
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

    def person(self) -> str:
        return (
            "Of course. I've noted that you'd like a person from the store; someone from the team "
            "will read this conversation and reply here."
        )

    def answer_question(self) -> str:
        facts = self.facts
        if not facts.passages or facts.confidence < facts.threshold:
            return f"I'm sorry, I don't know that, and I'd rather not guess. {OFFER_PERSON}"
        question = self.text
        passage = max(
            enumerate(facts.passages),
            key=lambda pair: (self.passage_score(question, pair[1], pair[0]), -pair[0]),
        )[1]
        quote = slots.best_sentences(question, passage.text)
        answer = f"{quote} [{passage.id}]"
        if RETURN_RE.search(question) and "check_eligibility" in self.tools:
            answer += (
                " If you'd like to start a return, tell me your order number and the email "
                "address you used for the order."
            )
        return answer

    @staticmethod
    def passage_score(question: str, passage: Any, rank: int) -> float:
        """Retrieval's order, corrected by how well the heading and text fit the question's words
        (a heading naming the topic — "Shipping costs" for "how much is shipping" — counts most)."""
        heading = passage.heading.rsplit(">", 1)[-1]
        fit = 0.7 * slots.overlap(question, heading) + 0.3 * slots.overlap(question, passage.text)
        return fit + {0: 0.35, 1: 0.1}.get(rank, 0.0)

    # Slots --------------------------------------------------------------------------------------
    def scope_start(self) -> int:
        """Details count from the last authorization (or its decline): a new return starts fresh."""
        start = -1
        for outcome in self.conv.outcomes:
            if outcome.index > self.conv.last_user_index:
                continue
            # A refusal does not end it: the shopper may add that it arrived damaged, say.
            if outcome.name == "create_return_authorization":
                start = outcome.index
        return start

    def user_texts(self, since: int = -1) -> list[str]:
        """The shopper's messages after `since`, newest first."""
        return [text for index, text in reversed(self.conv.user_turns) if index > since]

    def order_id(self) -> str | None:
        for text in self.user_texts():
            found = slots.find_order_ids(text, self.order_re)
            if found:
                return found[-1]
        lookup = self.conv.last("lookup_order", ok=True)
        return str(lookup.result.get("order_id")) if lookup else None

    def email(self) -> str | None:
        for text in self.user_texts():
            found = slots.find_emails(text)
            if found:
                return found[-1]
        return self.facts.customer_email

    def order(self, order_id: str) -> dict[str, Any] | None:
        """The order a successful lookup returned for this number (the shopper is verified)."""
        for outcome in reversed(self.conv.outcomes):
            if outcome.name == "lookup_order" and outcome.ok:
                if same_order(order_id, str(outcome.result.get("order_id", ""))) or same_order(
                    order_id, str(outcome.arguments.get("order_id", ""))
                ):
                    return outcome.result
        return None

    def match_item_any(self, text: str) -> bool:
        lookup = self.conv.last("lookup_order", ok=True)
        return bool(lookup and slots.match_item(text, lookup.result.get("items") or []))

    def item(self, order: dict[str, Any], since: int) -> tuple[dict[str, Any] | None, int]:
        items = order.get("items") or []
        for text in self.user_texts(since):
            found = slots.match_item(text, items)
            if found:
                quantity = slots.find_quantity(text) or 1
                return found, max(1, min(quantity, int(found.get("quantity") or 1)))
        if len(items) == 1:
            return items[0], 1
        return None, 1

    def reason(self, since: int) -> str | None:
        allowed = (
            self.tools["check_eligibility"].enum("reason")
            if "check_eligibility" in self.tools
            else None
        )
        for text in self.user_texts(since):
            found = slots.find_reason(text, allowed)
            if found:
                return found
        return None

    def resolution(self, since: int) -> str:
        tool = self.tools.get("create_return_authorization")
        allowed = tool.enum("resolution") if tool else None
        for text in self.user_texts(since):
            found = slots.find_resolution(text, allowed)
            if found:
                return found
        default = tool.default("resolution") if tool else None
        return str(default or (allowed[0] if allowed else "refund"))

    @staticmethod
    def eligible(outcome: ToolOutcome) -> bool:
        if "eligible" in outcome.result:
            return bool(outcome.result["eligible"])
        lines = outcome.result.get("lines") or []
        return bool(lines) and all(line.get("eligible") for line in lines)

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
    def return_flow(self, consent: bool | None) -> ModelReply:
        order, reply = self.verified_order("a return")
        if reply is not None:
            return reply
        assert order is not None
        since = self.scope_start()
        done = [o for o in self.turn if o.name in ("create_return_authorization", "generate_label")]
        if done:
            return self.after_authorization()
        check = self.conv.last("check_eligibility", since=since)
        if consent is not None and check is not None and check.ok and self.eligible(check):
            if not consent:
                return self.say(
                    "No problem — I haven't started a return. Anything else I can help with?"
                )
            return self.authorize(check, since)
        item, quantity = self.item(order, since)
        reason = self.reason(since)
        if item is None or reason is None:
            return self.ask_item_and_reason(order, item, reason)
        arguments = {
            "order_id": order["order_id"],
            "sku": item["sku"],
            "quantity": quantity,
            "reason": reason,
        }
        current = [o for o in self.turn if o.name == "check_eligibility"]
        if current:
            outcome = current[-1]
            if not outcome.ok:
                return self.say(self.relay())
            if self.eligible(outcome):
                return self.say(f"{self.relay()} {OFFER_RETURN}")
            return self.say(
                f"{self.relay()} If it arrived damaged or we made a mistake with it, tell me what "
                f"happened and I'll check again. {OFFER_PERSON}"
            )
        return self.call("check_eligibility", arguments)

    def ask_item_and_reason(
        self, order: dict[str, Any], item: dict[str, Any] | None, reason: str | None
    ) -> ModelReply:
        prefix = self.relay()
        if item is None:
            names = [f"the {i.get('name')}" for i in order.get("items") or []]
            listed = ", ".join(names[:-1]) + (
                f" or {names[-1]}" if len(names) > 1 else names[0] if names else ""
            )
            text = f"Which item would you like to return: {listed}?"
            if reason is None:
                text += f" And why are you returning it — {ASK_REASON_EXAMPLES}?"
        else:
            text = f"Could you tell me why you're returning the {item.get('name')} — {ASK_REASON_EXAMPLES}?"
        return self.say(f"{prefix} {text}" if prefix else text)

    def authorize(self, check: ToolOutcome, since: int) -> ModelReply:
        tool = self.tools.get("create_return_authorization")
        if tool is None:
            return self.say(f"I can't start returns here. {OFFER_PERSON}")
        args = check.arguments
        arguments: dict[str, Any] = {"order_id": args.get("order_id")}
        if "lines" in tool.properties:
            arguments["lines"] = [{"sku": args.get("sku"), "quantity": args.get("quantity", 1)}]
        else:
            arguments.update(sku=args.get("sku"), quantity=args.get("quantity", 1))
        arguments["reason"] = args.get("reason")
        if "resolution" in tool.properties:
            arguments["resolution"] = self.resolution(since)
        return self.call("create_return_authorization", arguments)

    def after_authorization(self) -> ModelReply:
        created = [o for o in self.turn if o.name == "create_return_authorization"]
        labels = [o for o in self.turn if o.name == "generate_label"]
        if created and created[-1].ok and not labels:
            rma = created[-1].result
            if (
                rma.get("status") == "approved"
                and rma.get("return_shipping_required", True)
                and "generate_label" in self.tools
                and rma.get("rma_id")
            ):
                return self.call("generate_label", {"rma_id": rma["rma_id"]})
        text = self.relay()
        if labels and not labels[-1].ok and labels[-1].code == "declined":
            text = (
                self.relay(created)
                + " I haven't made a label yet — just ask whenever you want one."
            )
        if created and created[-1].ok is False and created[-1].code == "declined":
            text = "No problem — I haven't started a return. Anything else I can help with?"
        return self.say(text or "Done.")

    def last_rma(self) -> dict[str, Any] | None:
        created = self.conv.last("create_return_authorization", ok=True)
        return created.result if created else None

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
        explicit = slots.find_order_ids(self.text, self.order_re)
        label = self.conv.last("generate_label", ok=True)
        if (
            not explicit
            and label
            and label.result.get("tracking_number")
            and self.facts.customer_email
        ):
            return self.call("fetch_tracking", {"tracking_number": label.result["tracking_number"]})
        order_id = explicit[-1] if explicit else self.order_id()
        if self.facts.customer_email and order_id:
            return self.call("fetch_tracking", {"order_id": order_id})
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

    def known_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {"order_id": self.order_id(), "email": self.email()}
        rma = self.last_rma()
        if rma:
            values["rma_id"] = rma.get("rma_id")
        label = self.conv.last("generate_label", ok=True)
        if label:
            values["tracking_number"] = label.result.get("tracking_number")
        reason = self.reason(self.scope_start())
        if reason:
            values["reason"] = reason
        return values


def same_order(a: str, b: str) -> bool:
    def norm(value: str) -> str:
        return re.sub(r"[\s#]", "", value).upper()

    def digits(value: str) -> str:
        return "".join(ch for ch in value if ch.isdigit())

    if not a or not b:
        return False
    return norm(a) == norm(b) or (digits(a) != "" and digits(a) == digits(b))
