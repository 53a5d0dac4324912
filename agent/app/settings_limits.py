"""The throttling and verification block of the one settings model (`agent.app.settings.Settings`
inherits it): limits in the `limits` library's words, trusted proxies, and how a guest verifies."""

from __future__ import annotations

from ipaddress import ip_network
from typing import Annotated, Any, Literal

import limits
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class LimitSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPDESK_", extra="ignore")

    # Throttling across conversations and verification (agent/chat/limits.py,
    # agent/chat/verification.py). Limits are in the `limits` library's words ("5 per 15 minutes").
    rate_limit_storage: str | None = Field(
        None,
        description="Where limit counters live: memory:// (this process) or redis://host:port "
        "(shared by every replica); unset, redis_url when set, else memory://",
    )
    rate_limit_prefix: str = Field(
        "shopdesk", min_length=1, max_length=64, description="Namespace of this store's counters"
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses/CIDRs whose X-Forwarded-For names the client, comma-separated",
    )
    limit_new_conversations_per_address: str = Field("60 per 10 minutes")
    limit_messages_per_address: str = Field("120 per minute")
    limit_verification_failures_per_address: str = Field("10 per 15 minutes")
    limit_verification_failures_per_order: str = Field("5 per 15 minutes")
    limit_verification_failures_per_email: str = Field("5 per 15 minutes")
    limit_model_calls: str = Field("600 per minute", description="Global budget of model calls")
    limit_codes_per_email: str = Field("5 per hour", description="Email codes sent to one address")
    limit_uploads_per_conversation: str = Field(
        "20/hour", description="Photo uploads per conversation (limits notation)"
    )
    verification: Literal["order_email", "email_code", "signed"] = Field(
        "order_email",
        description="How a guest proves who they are: order number + email; that plus a code "
        "sent to the order's email; or only identities signed by the host page",
    )
    verification_code_minutes: float = Field(10.0, gt=0, le=24 * 60)
    verification_code_tries: int = Field(5, ge=1, le=20)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies_csv(cls, value: Any) -> Any:
        return split_csv(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ip_network(item, strict=False)  # ValueError names the bad entry
        return value

    @field_validator(
        "limit_new_conversations_per_address",
        "limit_messages_per_address",
        "limit_verification_failures_per_address",
        "limit_verification_failures_per_order",
        "limit_verification_failures_per_email",
        "limit_model_calls",
        "limit_codes_per_email",
        "limit_uploads_per_conversation",
    )
    @classmethod
    def _limit(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a limit like '5 per 15 minutes'") from None
        return value

    @field_validator("rate_limit_storage")
    @classmethod
    def _storage(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("memory://", "redis://", "rediss://")):
            raise ValueError("use memory:// or a redis:// / rediss:// URL")
        return value


__all__ = ["LimitSettings", "split_csv"]
