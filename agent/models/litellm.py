"""`LiteLLMModel`: every provider string litellm reaches — the one module that imports litellm.

It renders the system prompt (agent.turn.prompts) and the tool list from the `ModelRequest`, streams
through `litellm.acompletion(stream=True)`, assembles streamed tool calls, and applies timeouts,
retries and fallbacks. It is imported only when a model other than `shopdesk/offline` is configured.

In-process providers (the tests' scripted models) are plain objects with
`respond(messages, tools) -> ModelReply` (optionally `async arespond`), served through a
`litellm.CustomLLM` by `register_handler`, so tests exercise litellm's real chunk parsing.
"""

from __future__ import annotations

from agent.app.offline_env import use_offline_env

# Before the import: otherwise litellm fetches its cost map from the internet on import.
use_offline_env()

import asyncio  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
import warnings  # noqa: E402
from collections.abc import AsyncIterator, Callable, Iterator, Sequence  # noqa: E402
from typing import Any, Protocol  # noqa: E402

import litellm  # noqa: E402
from litellm.llms.custom_llm import CustomLLM  # noqa: E402
from litellm.types.utils import ChatCompletionMessageToolCall  # noqa: E402

from agent.models.base import (  # noqa: E402
    ModelError,
    ModelReply,
    ModelRequest,
    ModelTurn,
    ToolCall,
    ToolSpec,
    split_text,
)
from agent.models.image_parts import with_image_parts  # noqa: E402
from agent.turn.prompts import render_system_prompt  # noqa: E402

litellm.suppress_debug_info = True
# litellm's own types trip a pydantic notice on the first streamed call; it is not ours to fix.
warnings.filterwarnings("ignore", message=".*ReadOnly.*qualifier", category=UserWarning)

OFFLINE_MODEL = "shopdesk/offline"
Chat = list[dict[str, Any]]  # OpenAI-format messages or tools, as litellm takes them


class Handler(Protocol):
    def respond(self, messages: Chat, tools: Chat) -> ModelReply: ...


# The model ----------------------------------------------------------------------------------------
class LiteLLMModel:
    def __init__(
        self,
        model: str,
        *,
        fallbacks: Sequence[str] = (),
        timeout: float = 60.0,
        retries: int = 1,
    ) -> None:
        self.model = model
        self.fallbacks = tuple(fallbacks)
        self.timeout = timeout
        self.retries = retries

    async def stream(self, request: ModelRequest) -> AsyncIterator[str | ModelTurn]:
        messages: Chat = [{"role": "system", "content": render_system_prompt(request)}]
        messages.extend(dict(m) for m in request.messages)
        tools = tool_dicts(request.tools)

        def attempt(candidate: str) -> AsyncIterator[str | ModelTurn]:
            if candidate == OFFLINE_MODEL:  # a fallback to the embedded model needs no provider
                from agent.models.offline import OfflineModel

                return OfflineModel().stream(request)
            shown = with_image_parts(messages, request.images) if sees(candidate) else messages
            return _stream_one(candidate, shown, tools, self.timeout)

        async for item in _with_fallbacks([self.model, *self.fallbacks], attempt, self.retries):
            yield item


def sees(model: str) -> bool:
    """Whether litellm knows `model` to take images (an unknown model is taken not to)."""
    try:
        return bool(litellm.supports_vision(model=model))
    except Exception:
        return False


def tool_dicts(tools: Sequence[ToolSpec]) -> Chat:
    """Tools in the OpenAI format. Example requests, when an action has them, are mentioned in
    prose: they help a model tell similar actions apart."""
    out: Chat = []
    for tool in tools:
        description = tool.description
        if tool.examples:
            quoted = "; ".join(json.dumps(example) for example in tool.examples)
            description = f"{description} Shoppers ask for it with words like: {quoted}."
        function = {"name": tool.name, "description": description, "parameters": tool.parameters}
        out.append({"type": "function", "function": function})
    return out


# In-process providers -----------------------------------------------------------------------------
def _chunk(
    text: str = "", tool_use: dict[str, Any] | None = None, finish: str = ""
) -> dict[str, Any]:
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


def _reply_chunks(reply: ModelReply) -> Iterator[dict[str, Any]]:
    for piece in split_text(reply.text):
        yield _chunk(text=piece)
    for index, call in enumerate(reply.tool_calls):
        function = {"name": call.name, "arguments": _arguments_json(call.arguments)}
        yield _chunk(
            tool_use={"id": call.id, "type": "function", "function": function, "index": index}
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
        arespond = getattr(self.handler, "arespond", None)  # optional half of the protocol
        if arespond is None:
            return self._respond(kwargs)
        tools = (kwargs.get("optional_params") or {}).get("tools") or []
        reply: ModelReply = await arespond(list(kwargs.get("messages") or []), list(tools))
        return reply

    def completion(self, *args: Any, **kwargs: Any) -> Any:
        return _reply_response(self._respond(kwargs), kwargs["model_response"])

    async def acompletion(self, *args: Any, **kwargs: Any) -> Any:
        return _reply_response(await self._arespond(kwargs), kwargs["model_response"])

    def streaming(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        yield from _reply_chunks(self._respond(kwargs))

    # litellm declares a coroutine returning an iterator, and calls it as an async generator.
    async def astreaming(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:  # type: ignore[override]
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
    litellm.utils.custom_llm_setup()  # type: ignore[no-untyped-call]


def unregister_handler(provider: str) -> None:
    _registered.pop(provider, None)
    litellm.custom_provider_map = [
        item for item in litellm.custom_provider_map if item.get("provider") != provider
    ]


# Calling a model ----------------------------------------------------------------------------------
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
    arguments in pieces, all under one `index`. Cheaper than `litellm.stream_chunk_builder`
    (measured 1.6 ms per call), which also counts tokens."""
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
    model: str, messages: Chat, tools: Chat, timeout: float
) -> AsyncIterator[str | ModelTurn]:
    started = time.perf_counter()
    # One deadline for the whole answer; asyncio.timeout_at around each await (not wait_for,
    # which wraps every chunk in a new task) so the consumer's own time between chunks is free.
    deadline = asyncio.get_running_loop().time() + timeout
    kwargs: dict[str, Any] = {"model": model, "messages": messages, "stream": True}
    if tools:
        kwargs["tools"] = tools
    kwargs["timeout"] = timeout
    async with asyncio.timeout_at(deadline):
        response = await litellm.acompletion(**kwargs)
    text: list[str] = []
    fragments: list[Any] = []
    iterator = response.__aiter__()
    while True:
        try:
            async with asyncio.timeout_at(deadline):
                chunk = await iterator.__anext__()
        except StopAsyncIteration:
            break
        delta = chunk.choices[0].delta if chunk.choices else None
        if delta is not None:
            if delta.tool_calls:
                fragments.extend(delta.tool_calls)
            if delta.content:
                text.append(delta.content)
                yield delta.content
    yield ModelTurn(
        text="".join(text),
        tool_calls=_parse_tool_calls(_assemble_tool_calls(fragments)),
        model_seconds=time.perf_counter() - started,
        model=model,
    )


async def _with_fallbacks(
    candidates: list[str],
    attempt: Callable[[str], AsyncIterator[str | ModelTurn]],
    retries: int,
) -> AsyncIterator[str | ModelTurn]:
    """Each candidate is tried `1 + retries` times, in order. A model that fails before sending any
    text is retried or replaced silently; once text has reached the caller a failure is raised (the
    shopper has already seen part of the answer, so switching models would garble it)."""
    problems: list[str] = []
    waited = 0.0
    for candidate in candidates:
        for _attempt in range(1 + max(0, retries)):
            sent_text = False
            attempt_started = time.perf_counter()
            try:
                async for item in attempt(candidate):
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


def stream_model(
    model: str,
    messages: Chat,
    tools: Chat,
    *,
    fallbacks: Sequence[str] = (),
    timeout: float = 60.0,
    retries: int = 1,
) -> AsyncIterator[str | ModelTurn]:
    """Raw messages and tools through litellm (scripts and transport tests): text deltas as they
    arrive, then exactly one ModelTurn."""

    def attempt(candidate: str) -> AsyncIterator[str | ModelTurn]:
        return _stream_one(candidate, messages, tools, timeout)

    return _with_fallbacks([model, *fallbacks], attempt, retries)


async def complete(model: str, messages: Chat, tools: Chat, **kwargs: Any) -> ModelTurn:
    """The whole answer at once (scripts and tests)."""
    async for item in stream_model(model, messages, tools, **kwargs):
        if isinstance(item, ModelTurn):
            return item
    raise ModelError("the model stream ended without a turn")  # pragma: no cover


class _Hello:
    def respond(self, messages: Chat, tools: Chat) -> ModelReply:
        return ModelReply(text="hello")


async def warm_up() -> float:
    """One throwaway call through an in-process provider: litellm's first call lazily imports ~2 s
    of modules. Servers with a litellm model call this at start-up so the first shopper does not
    wait. Returns the seconds it took."""
    started = time.perf_counter()
    register_handler("shopdesk-warm-up", _Hello())
    try:
        await complete("shopdesk-warm-up/hello", [{"role": "user", "content": "hi"}], [], retries=0)
    except ModelError:
        pass
    finally:
        unregister_handler("shopdesk-warm-up")
    return time.perf_counter() - started


__all__ = [
    "LiteLLMModel",
    "complete",
    "register_handler",
    "stream_model",
    "tool_dicts",
    "unregister_handler",
    "warm_up",
]
