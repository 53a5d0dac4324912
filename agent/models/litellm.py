"""The one module that imports litellm: model calls, streaming, and our own in-process providers.

Every model — a hosted one, a local one, the offline default and the tests' scripted model — goes
through `litellm.acompletion(stream=True)`, so the loop sees one shape of stream and litellm's real
chunk parsing is exercised in tests. In-process providers are plain objects with
`respond(messages, tools) -> ModelReply` (optionally `async arespond`), wrapped in a
`litellm.CustomLLM` by `register_handler`.
"""

from __future__ import annotations

import os

# Before the import: otherwise litellm fetches its cost map from the internet on import.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import asyncio  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
import warnings  # noqa: E402
from collections.abc import AsyncIterator, Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any, Protocol  # noqa: E402

import litellm  # noqa: E402
from litellm import CustomLLM  # noqa: E402
from litellm.types.utils import ChatCompletionMessageToolCall  # noqa: E402

litellm.suppress_debug_info = True
# litellm's own types trip a pydantic notice on the first streamed call; it is not ours to fix.
warnings.filterwarnings("ignore", message=".*ReadOnly.*qualifier", category=UserWarning)

# Text is cut into chunks of about this many characters, so an in-process model's deltas are real
# deltas (the widget shows them arriving) without flooding the socket with one frame per letter.
CHUNK_CHARS = 24


@dataclass
class ToolCall:
    id: str
    name: str
    # A dict when the model sent a JSON object; the raw text otherwise (the loop reports it).
    arguments: dict[str, Any] | str = field(default_factory=dict)


@dataclass
class ModelReply:
    """What an in-process provider answers."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)


@dataclass
class ModelTurn:
    """The end of one streamed model call: the whole text and the parsed tool calls.

    `model_seconds` is the wall time spent waiting on the model (from the request to the last
    chunk, litellm's own processing included); the server subtracts it to report its own latency.
    """

    text: str
    tool_calls: list[ToolCall]
    model_seconds: float
    model: str = ""


class Handler(Protocol):
    def respond(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> ModelReply: ...


class ModelError(Exception):
    """Every configured model failed (after retries and fallbacks)."""


# In-process providers ---------------------------------------------------------------------------
def _split_text(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """Cut at word boundaries into pieces of roughly `size` characters (whitespace kept)."""
    pieces: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and len(candidate) > size:
            pieces.append(current + " ")
            current = word
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces


def _chunk(text: str = "", tool_use: dict[str, Any] | None = None, finish: str = "") -> dict:
    # A litellm GenericStreamingChunk (a TypedDict; plain dicts are what litellm checks for).
    return {
        "text": text,
        "tool_use": tool_use,
        "is_finished": bool(finish),
        "finish_reason": finish,
        "usage": (
            {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0} if finish else None
        ),
        "index": 0,
    }


def _arguments_json(arguments: dict[str, Any] | str) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def _reply_chunks(reply: ModelReply) -> Iterator[dict]:
    for piece in _split_text(reply.text):
        yield _chunk(text=piece)
    for index, call in enumerate(reply.tool_calls):
        yield _chunk(
            tool_use={
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": _arguments_json(call.arguments)},
                "index": index,
            }
        )
    yield _chunk(finish="tool_calls" if reply.tool_calls else "stop")


def _reply_response(reply: ModelReply, model_response: Any) -> Any:
    message = model_response.choices[0].message
    message.content = reply.text or None
    if reply.tool_calls:
        message.tool_calls = [
            ChatCompletionMessageToolCall(
                id=call.id,
                type="function",
                function={"name": call.name, "arguments": _arguments_json(call.arguments)},
            )
            for call in reply.tool_calls
        ]
        model_response.choices[0].finish_reason = "tool_calls"
    else:
        model_response.choices[0].finish_reason = "stop"
    return model_response


class _HandlerLLM(CustomLLM):
    """Adapts a `respond(messages, tools)` object to litellm's four call styles."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler

    def _respond(self, kwargs: dict[str, Any]) -> ModelReply:
        tools = (kwargs.get("optional_params") or {}).get("tools") or []
        return self.handler.respond(list(kwargs.get("messages") or []), list(tools))

    async def _arespond(self, kwargs: dict[str, Any]) -> ModelReply:
        arespond = getattr(self.handler, "arespond", None)
        if arespond is None:
            return self._respond(kwargs)
        tools = (kwargs.get("optional_params") or {}).get("tools") or []
        return await arespond(list(kwargs.get("messages") or []), list(tools))

    def completion(self, *args: Any, **kwargs: Any) -> Any:
        return _reply_response(self._respond(kwargs), kwargs["model_response"])

    async def acompletion(self, *args: Any, **kwargs: Any) -> Any:
        return _reply_response(await self._arespond(kwargs), kwargs["model_response"])

    def streaming(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        yield from _reply_chunks(self._respond(kwargs))

    async def astreaming(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        for chunk in _reply_chunks(await self._arespond(kwargs)):
            yield chunk


_registered: dict[str, _HandlerLLM] = {}


def register_handler(provider: str, handler: Handler) -> None:
    """Serve models `provider/<anything>` from `handler` (replacing an earlier one)."""
    wrapped = _HandlerLLM(handler)
    _registered[provider] = wrapped
    litellm.custom_provider_map = [
        item for item in litellm.custom_provider_map if item.get("provider") != provider
    ] + [{"provider": provider, "custom_handler": wrapped}]
    litellm.utils.custom_llm_setup()


def unregister_handler(provider: str) -> None:
    _registered.pop(provider, None)
    litellm.custom_provider_map = [
        item for item in litellm.custom_provider_map if item.get("provider") != provider
    ]


_priced: set[str] = set()


def _price_in_process_model(model: str) -> None:
    # Without a price entry litellm searches its whole cost map on every call to conclude "unknown"
    # (measured: 18 ms per call instead of 6). Our own providers are free; say so once.
    provider = model.split("/", 1)[0]
    if provider not in _registered or model in _priced:
        return
    litellm.register_model(
        {
            model: {
                "litellm_provider": provider,
                "mode": "chat",
                "input_cost_per_token": 0.0,
                "output_cost_per_token": 0.0,
                "cache_creation_input_token_cost": 0.0,
                "cache_read_input_token_cost": 0.0,
                "max_tokens": 1_000_000,
                "supports_function_calling": True,
            }
        }
    )
    _priced.add(model)


def _skip_post_stream_logging(model: str) -> bool:
    """True for our own in-process providers when nobody listens to litellm's success logging.

    After the last chunk litellm rebuilds the whole response (`stream_chunk_builder`, in a worker
    thread), prices it and builds its standard logging payload for the callbacks: ~5 ms of CPU
    per call for a free, instant model, most of it on the event loop, and nothing reads it unless
    a callback is configured. Hosted models keep the full path (their last chunks may carry
    usage, and their spend is worth logging)."""
    if model.split("/", 1)[0] not in _registered:
        return False
    return not (
        litellm.callbacks
        or litellm.success_callback
        or litellm._async_success_callback
        or litellm.service_callback
    )


# Calling a model --------------------------------------------------------------------------------
def _parse_tool_calls(raw: list[dict[str, Any]]) -> list[ToolCall]:
    """Assembled calls → ToolCall, arguments parsed when they are a JSON object (else kept raw,
    so the loop can tell the model its arguments were not JSON)."""
    calls: list[ToolCall] = []
    for item in raw:
        function = item.get("function") or {}
        text = function.get("arguments") or "{}"
        arguments: dict[str, Any] | str
        try:
            parsed = json.loads(text)
            arguments = parsed if isinstance(parsed, dict) else text
        except ValueError:
            arguments = text
        call_id = item.get("id") or f"call_{uuid.uuid4().hex[:12]}"
        calls.append(ToolCall(id=call_id, name=function.get("name") or "", arguments=arguments))
    return calls


def _assemble_tool_calls(fragments: list[Any]) -> list[dict[str, Any]]:
    """Streamed tool-call deltas → whole calls. Providers send a call's id and name first and its
    arguments in pieces, all under one `index` (ours send each call whole). Cheaper than
    `litellm.stream_chunk_builder` (measured 1.6 ms per call), which also counts tokens."""
    calls: dict[int, dict[str, Any]] = {}
    for fragment in fragments:
        index = fragment.index if getattr(fragment, "index", None) is not None else len(calls)
        call = calls.setdefault(index, {"id": None, "function": {"name": "", "arguments": ""}})
        if fragment.id:
            call["id"] = fragment.id
        function = fragment.function
        if function is not None:
            if function.name:
                call["function"]["name"] = function.name
            if function.arguments:
                call["function"]["arguments"] += function.arguments
    return [calls[index] for index in sorted(calls)]


async def _stream_one(
    model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]], timeout: float
) -> AsyncIterator[str | ModelTurn]:
    started = time.perf_counter()
    # One deadline for the whole answer; asyncio.timeout_at around each await (not wait_for,
    # which wraps every chunk in a new task) so the consumer's own time between chunks is free.
    deadline = asyncio.get_running_loop().time() + timeout
    _price_in_process_model(model)
    kwargs: dict[str, Any] = {"model": model, "messages": messages, "stream": True}
    if tools:
        kwargs["tools"] = tools
    kwargs["timeout"] = timeout
    async with asyncio.timeout_at(deadline):
        response = await litellm.acompletion(**kwargs)
    text: list[str] = []
    fragments: list[Any] = []
    iterator = response.__aiter__()
    stop_at_finish = _skip_post_stream_logging(model)
    while True:
        try:
            async with asyncio.timeout_at(deadline):
                chunk = await iterator.__anext__()
        except StopAsyncIteration:
            break
        choice = chunk.choices[0] if chunk.choices else None
        delta = choice.delta if choice is not None else None
        if delta is not None:
            if delta.tool_calls:
                fragments.extend(delta.tool_calls)
            if delta.content:
                text.append(delta.content)
                yield delta.content
        if stop_at_finish and choice is not None and choice.finish_reason:
            # The answer is complete. Asking for the next chunk would only run litellm's
            # end-of-stream bookkeeping (see _skip_post_stream_logging); close the stream instead.
            await response.aclose()
            break
    elapsed = time.perf_counter() - started
    yield ModelTurn(
        text="".join(text),
        tool_calls=_parse_tool_calls(_assemble_tool_calls(fragments)),
        model_seconds=elapsed,
        model=model,
    )


async def stream_model(
    model: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    *,
    fallbacks: list[str] | tuple[str, ...] = (),
    timeout: float = 60.0,
    retries: int = 1,
) -> AsyncIterator[str | ModelTurn]:
    """Text deltas as they arrive, then exactly one ModelTurn.

    Each model is tried `1 + retries` times, then the fallbacks in order. A model that fails before
    sending any text is retried or replaced silently; once text has reached the caller a failure is
    raised (the shopper has already seen part of the answer, so switching models would garble it).
    """
    ensure_default_providers()
    problems: list[str] = []
    waited = 0.0
    for candidate in [model, *fallbacks]:
        for _attempt in range(1 + max(0, retries)):
            sent_text = False
            attempt_started = time.perf_counter()
            try:
                async for item in _stream_one(candidate, messages, tools, timeout):
                    if isinstance(item, ModelTurn):
                        item.model_seconds += waited
                        yield item
                        return
                    sent_text = True
                    yield item
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except Exception as exc:  # provider errors come in many classes; all mean "try again"
                waited += time.perf_counter() - attempt_started
                if sent_text:
                    raise ModelError(f"{candidate} failed mid-answer: {exc}") from exc
                kind = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
                problems.append(f"{candidate}: {kind}: {str(exc)[:200]}")
    raise ModelError("; ".join(problems) or "no model configured")


async def complete(
    model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]], **kwargs: Any
) -> ModelTurn:
    """The whole answer at once (scripts and tests)."""
    async for item in stream_model(model, messages, tools, **kwargs):
        if isinstance(item, ModelTurn):
            return item
    raise ModelError("the model stream ended without a turn")  # pragma: no cover


async def warm_up(model: str = "shopdesk/offline") -> float:
    """One throwaway call: litellm's first call lazily imports ~2 s of modules. Servers call this
    at start-up so the first shopper does not wait. Returns the seconds it took."""
    started = time.perf_counter()
    try:
        await complete(model, [{"role": "user", "content": "hello"}], [], timeout=30, retries=0)
    except ModelError:
        pass
    return time.perf_counter() - started


def ensure_default_providers() -> None:
    """Register `shopdesk/offline` unless something already serves the `shopdesk` provider.

    Done on first use rather than at import: agent.models.offline imports this module for its types."""
    if "shopdesk" not in _registered:
        from agent.models.offline import OfflineModel

        register_handler("shopdesk", OfflineModel())
