"""Abuse limits for the chat: counted limits on the `limits` library, the client's address, and the
allowed origins.

Every counted limit (messages per conversation and per address, new conversations per address,
verification failures per address, order number and email, the global model budget) is a `Rule`
counted by one `Throttle` on a moving window. The counters live where
`SHOPDESK_RATE_LIMIT_STORAGE` says: in this process by default, or on Redis so that every replica
counts against the same limits. Windows are durations measured by the `limits` library itself
(wall seconds), not readings of the product's clock: nothing a shopper sees is dated by them.

Message length, frame size and idle timeout are plain comparisons done where the frame is read
(agent/chat/endpoint.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from urllib.parse import urlsplit

import limits
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from agent.app.settings import Settings

Network = IPv4Network | IPv6Network
log = logging.getLogger("shopdesk.limits")


def window_words(item: limits.RateLimitItem) -> str:
    """A window as a shopper reads it: "a minute", "15 minutes", "an hour"."""
    seconds = item.get_expiry()
    for size, one, many in ((86400, "a day", "days"), (3600, "an hour", "hours"),
                            (60, "a minute", "minutes")):  # fmt: skip
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return one if count == 1 else f"{count} {many}"
    return "a moment" if seconds < 60 else f"{seconds // 60} minutes"


@dataclass(frozen=True)
class Rule:
    """One counted limit: its name (the first part of every counter key) and its allowance.

    When the counters cannot be reached (Redis down), a rule that guards against guessing fails
    closed (nothing is tried), and one that guards capacity fails open (the chat keeps working)."""

    name: str
    item: limits.RateLimitItem
    fail_closed: bool = False

    @classmethod
    def of(cls, name: str, text: str, *, fail_closed: bool = False) -> Rule:
        return cls(name, limits.parse(text), fail_closed)

    @property
    def amount(self) -> int:
        return self.item.amount

    @property
    def window(self) -> str:
        return window_words(self.item)


@dataclass(frozen=True)
class Rules:
    """The limits a store runs with, read off its settings."""

    conversation_messages: Rule
    address_messages: Rule
    address_conversations: Rule
    address_failures: Rule
    order_failures: Rule
    email_failures: Rule
    model_calls: Rule
    codes_sent: Rule

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        return cls(
            conversation_messages=Rule.of(
                "conversation-messages", f"{settings.messages_per_minute} per minute"
            ),
            address_messages=Rule.of("address-messages", settings.limit_messages_per_address),
            address_conversations=Rule.of(
                "address-conversations", settings.limit_new_conversations_per_address
            ),
            address_failures=Rule.of(
                "address-failures",
                settings.limit_verification_failures_per_address,
                fail_closed=True,
            ),
            order_failures=Rule.of(
                "order-failures", settings.limit_verification_failures_per_order, fail_closed=True
            ),
            email_failures=Rule.of(
                "email-failures", settings.limit_verification_failures_per_email, fail_closed=True
            ),
            model_calls=Rule.of("model-calls", settings.limit_model_calls),
            codes_sent=Rule.of("codes-sent", settings.limit_codes_per_email),
        )


def open_storage(uri: str) -> Storage:
    """`memory://` or `redis://…` (the redis-py asyncio client) as a `limits` async storage."""
    if uri.startswith(("redis://", "rediss://")):
        storage = storage_from_string(
            f"async+{uri}", implementation="redispy", wrap_exceptions=True
        )
    else:
        storage = storage_from_string(f"async+{uri}")
    assert isinstance(storage, Storage)  # the async+ schemes give async storages
    return storage


class CountersUnavailable(Exception):
    """A fail-closed rule could not be counted: what it guards must not be tried now."""


class Throttle:
    """Counts hits of rules per key on one storage; `hit` takes one unit when there is one left.

    Keys are namespaced by the store's prefix, so two stores (or two test runs) can share a Redis.
    """

    def __init__(
        self,
        rules: Rules,
        storage: Storage,
        *,
        prefix: str = "shopdesk",
        trusted_proxies: Sequence[Network] = (),
    ) -> None:
        self.rules = rules
        self.storage = storage
        self.prefix = prefix
        self.trusted_proxies = list(trusted_proxies)
        self._strategy = MovingWindowRateLimiter(storage)

    @classmethod
    def from_settings(cls, settings: Settings) -> Throttle:
        return cls(
            Rules.from_settings(settings),
            open_storage(settings.resolved_rate_limit_storage),
            prefix=settings.rate_limit_prefix,
            trusted_proxies=trusted_networks(settings.trusted_proxies),
        )

    # What the chat socket asks -----------------------------------------------------------------
    async def message(self, conv_id: str, address: str) -> str | None:
        """Count a shopper message; the words to refuse it with, or None when it may go on."""
        if not await self.hit(self.rules.conversation_messages, conv_id):
            return "You're sending messages too quickly; please wait a moment."
        rule = self.rules.address_messages
        if not await self.hit(rule, address):
            return (
                "Too many messages are coming from your network right now; please wait "
                f"{rule.window} and send yours again."
            )
        return None

    async def new_conversation(self, address: str) -> str | None:
        """Count a new conversation from `address`; the words to refuse it with, or None."""
        rule = self.rules.address_conversations
        if await self.hit(rule, address):
            return None
        return (
            "Too many new conversations have been started from your network; please try again "
            f"in {rule.window}, or carry on in a conversation you already have open."
        )

    async def hit(self, rule: Rule, key: str) -> bool:
        """Count one event against `rule` for `key`; False (and nothing counted) when none is left."""
        try:
            return await self._strategy.hit(rule.item, self.prefix, rule.name, key)
        except StorageError:
            return self._unreachable(rule)

    async def test(self, rule: Rule, key: str) -> bool:
        """Whether one more event would be allowed now (counts nothing)."""
        try:
            return await self._strategy.test(rule.item, self.prefix, rule.name, key)
        except StorageError:
            return self._unreachable(rule)

    def _unreachable(self, rule: Rule) -> bool:
        log.error("rate limit storage unreachable; %s fails %s", rule.name,
                  "closed" if rule.fail_closed else "open", exc_info=True)  # fmt: skip
        if rule.fail_closed:
            raise CountersUnavailable(rule.name)
        return True

    async def clear(self, rule: Rule, key: str) -> None:
        await self._strategy.clear(rule.item, self.prefix, rule.name, key)

    async def reset(self) -> None:
        """Forget every counter (tests that need a new window; an operator's "unlock all").
        On Redis this clears every `limits` counter on that server, other stores' too."""
        await self.storage.reset()


def trusted_networks(entries: Iterable[str]) -> list[Network]:
    return [ip_network(entry.strip(), strict=False) for entry in entries if entry.strip()]


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The address limits count against: the socket's peer, unless the peer is a trusted proxy.

    Behind trusted proxies the client is the rightmost `X-Forwarded-For` entry that is not itself a
    trusted proxy (entries to its left were written by the client and prove nothing). From an
    untrusted peer the header is ignored: anyone can send it.
    """
    address = peer or "unknown"
    if not forwarded_for or not _is_trusted(address, trusted):
        return address
    for entry in reversed([part.strip() for part in forwarded_for.split(",")]):
        if not entry:
            continue
        try:
            ip_address(entry.strip("[]"))
        except ValueError:
            return address  # a garbled chain names nobody; count the proxy itself
        if not _is_trusted(entry, trusted):
            return entry.strip("[]")
    return address


def _origin_key(origin: str) -> tuple[str, str] | None:
    parts = urlsplit(origin.strip().lower().rstrip("/"))
    if not parts.scheme or not parts.netloc:
        return None
    default = {"http": "80", "https": "443", "ws": "80", "wss": "443"}.get(parts.scheme, "")
    host = parts.hostname or ""
    port = str(parts.port) if parts.port else default
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return scheme, f"{host}:{port}"


def origin_allowed(origin: str | None, host_header: str | None, allowed: Iterable[str]) -> bool:
    """Browsers always send Origin on a websocket handshake; accept our own origin and configured ones.

    No Origin header means a non-browser client (the CLI, a bench): nothing for CORS-style checks to
    protect there, so it is allowed. `*` in the allowed list admits every origin.
    """
    if origin is None:
        return True
    allowed = list(allowed)
    if "*" in allowed:
        return True
    key = _origin_key(origin)
    if key is None:  # "null" (sandboxed iframes, file://) and garbage
        return False
    if host_header and key[1] in {_host_port(host_header, "80"), _host_port(host_header, "443")}:
        # Same host and port as the request: the page was served by us.
        return True
    return any(_origin_key(item) == key for item in allowed)


def _host_port(host_header: str, default_port: str) -> str:
    host = host_header.strip().lower()
    if host.startswith("["):  # IPv6 literal
        end = host.find("]")
        name, rest = host[: end + 1], host[end + 1 :]
        return f"{name.strip('[]')}:{rest[1:] if rest.startswith(':') else default_port}"
    if ":" in host:
        return host
    return f"{host}:{default_port}"


__all__ = [
    "CountersUnavailable",
    "Rule",
    "Rules",
    "Throttle",
    "client_address",
    "open_storage",
    "origin_allowed",
    "trusted_networks",
    "window_words",
]
