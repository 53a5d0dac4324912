"""Photos and the models: a model that takes images gets them as image parts on the shopper's
latest message; one that does not (or the offline model) gets the conversation unchanged."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from agent.models.base import ImageFact, ModelReply, ModelRequest
from agent.models.image_parts import with_image_parts
from agent.models.litellm import LiteLLMModel, register_handler, sees, unregister_handler
from tests.test_evidence_images import photo


def _image(data: bytes) -> ImageFact:
    return ImageFact("ev_1", "image/jpeg", lambda: data)


def test_a_vision_model_gets_the_photos_on_the_latest_shopper_message() -> None:
    data = photo("JPEG", (32, 32), exif=False)
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "my bowl arrived chipped"},
        {"role": "assistant", "content": "Please add photos."},
        {"role": "user", "content": "done"},
    ]
    shown = with_image_parts(messages, [_image(data), _image(data)])
    assert shown[:2] == messages[:2] and messages[2]["content"] == "done"  # the original untouched
    parts = shown[2]["content"]
    assert parts[0] == {"type": "text", "text": "done\n(The shopper attached 2 photos.)"}
    urls = [p["image_url"]["url"] for p in parts[1:]]
    assert len(urls) == 2
    assert urls[0] == "data:image/jpeg;base64," + base64.b64encode(data).decode()


def test_without_photos_the_messages_are_unchanged() -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "hi"}]
    assert with_image_parts(messages, []) is messages


def test_litellm_says_which_models_take_images() -> None:
    assert sees("gpt-4o") is True
    assert sees("gpt-3.5-turbo") is False
    assert sees("shopdesk/offline") is False  # unknown to litellm: no images


class _Capture:
    def __init__(self) -> None:
        self.seen: list[list[dict[str, Any]]] = []

    def respond(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply:
        self.seen.append(messages)
        return ModelReply(text="I can see the chip on the rim.")


async def test_photos_reach_a_vision_model_through_litellm_as_image_parts() -> None:
    import litellm

    capture = _Capture()
    register_handler("visiontest", capture)
    litellm.register_model(
        {
            "visiontest/eyes": {
                "litellm_provider": "visiontest",
                "mode": "chat",
                "supports_vision": True,
            }
        }  # fmt: skip
    )
    try:
        assert sees("visiontest/eyes") is True
        data = photo("JPEG", (32, 32), exif=False)
        request = ModelRequest(
            messages=[{"role": "user", "content": "here it is"}], tools=[], passages=[],
            confidence=0.0, threshold=0.5, customer_email=None, store_name="Shop", tone="",
            order_id_pattern=r"WK-\d+", now=datetime(2026, 3, 2, tzinfo=UTC),
            images=[_image(data)],
        )  # fmt: skip
        turns = [item async for item in LiteLLMModel("visiontest/eyes").stream(request)]
    finally:
        unregister_handler("visiontest")
    assert turns[-1].text == "I can see the chip on the rim."  # type: ignore[union-attr]
    last = capture.seen[-1][-1]
    assert last["role"] == "user" and isinstance(last["content"], list)
    assert last["content"][1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
