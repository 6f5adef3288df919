"""Language model providers: each streams text chunks and then reports token usage."""

from __future__ import annotations

from chatapp.services.llm.base import Provider, ProviderError, Usage

__all__ = ["Provider", "ProviderError", "Usage", "provider_from_config", "provider_label"]


def provider_kind(config: dict) -> str:
    """'openai' or 'offline', from LLM_PROVIDER or, when unset, from whether LLM_BASE_URL is set."""
    kind = config.get("LLM_PROVIDER") or ("openai" if config.get("LLM_BASE_URL") else "offline")
    if kind not in ("openai", "offline"):
        raise ValueError(f"CHATAPP_LLM_PROVIDER must be 'openai' or 'offline', not {kind!r}")
    return kind


def provider_from_config(config: dict) -> Provider:
    """Build the configured provider."""
    if provider_kind(config) == "openai":
        from chatapp.services.llm.openai_compat import OpenAICompatProvider

        return OpenAICompatProvider(
            base_url=config["LLM_BASE_URL"],
            api_key=config.get("LLM_API_KEY"),
            model=config["LLM_MODEL"],
            max_tokens=config["LLM_MAX_TOKENS"],
            connect_timeout=config["LLM_CONNECT_TIMEOUT"],
            # a backstop: the reply job enforces the first-token and idle timeouts itself
            read_timeout=max(config["LLM_FIRST_TOKEN_TIMEOUT"], config["LLM_IDLE_TIMEOUT"]) + 5,
            max_connections=config["LLM_CONCURRENCY"],
        )
    from chatapp.services.llm.offline import OfflineProvider

    return OfflineProvider(max_tokens=config["OFFLINE_MAX_TOKENS"])


def provider_label(config: dict) -> str:
    """A human label for the configured model, shown in the chat header."""
    if provider_kind(config) == "openai":
        return config["LLM_MODEL"]
    from chatapp.services.llm.offline import OfflineProvider

    return OfflineProvider.label
