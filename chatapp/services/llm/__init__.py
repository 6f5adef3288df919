"""Language model providers (each streams text chunks and then reports token usage), and the
catalog of models consultants may choose from."""

from __future__ import annotations

import os
from dataclasses import dataclass

from chatapp.services.llm.base import Provider, ProviderError, Usage

__all__ = ["ModelChoice", "Provider", "ProviderError", "Usage", "choose_model",
           "configured_models", "provider_for"]

PROVIDERS = ("openai", "offline")


@dataclass(frozen=True)
class ModelChoice:
    """A model consultants can choose: its id (stored on sessions), its label, how to reach it."""

    id: str
    label: str
    provider: str  # "openai" (any OpenAI-compatible server) or "offline" (the demo model)
    model: str = ""  # the name sent to the server
    base_url: str | None = None
    api_key_env: str | None = None  # the environment variable holding this server's API key
    vision: bool = False  # the model reads images (they are sent to it with the question)

    @property
    def offline(self) -> bool:
        """True for the offline demo model."""
        return self.provider == "offline"


def configured_models(config: dict) -> list[ModelChoice]:
    """The models on offer, the default first: CHATAPP_LLM_MODELS when set (a JSON list), else
    the one model of the CHATAPP_LLM_* settings. Raises ValueError, naming the problem, for a
    list that cannot be used."""
    entries = config.get("LLM_MODELS")
    if not entries:
        return [_single_model(config)]
    if not isinstance(entries, list):
        raise ValueError("CHATAPP_LLM_MODELS must be a JSON list of models")
    choices = [_listed_model(config, entry, index) for index, entry in enumerate(entries)]
    ids = [choice.id for choice in choices]
    if len(set(ids)) != len(ids):
        raise ValueError("CHATAPP_LLM_MODELS: every model needs an id of its own")
    return choices


def choose_model(config: dict, model_id: str | None) -> ModelChoice:
    """The model `model_id`, or the default when it is not (or no longer) on offer."""
    choices = configured_models(config)
    return next((choice for choice in choices if choice.id == model_id), choices[0])


def provider_for(config: dict, choice: ModelChoice, max_tokens: int | None = None) -> Provider:
    """A provider that writes with `choice`, at most `max_tokens` (default: a reply's limit)."""
    if not choice.offline:
        from chatapp.services.llm.openai_compat import OpenAICompatProvider

        api_key = os.environ.get(choice.api_key_env) if choice.api_key_env else None
        return OpenAICompatProvider(
            base_url=choice.base_url,
            api_key=api_key or config.get("LLM_API_KEY"),
            model=choice.model,
            max_tokens=max_tokens or config["LLM_MAX_TOKENS"],
            connect_timeout=config["LLM_CONNECT_TIMEOUT"],
            # a backstop: the reply job enforces the first-token and idle timeouts itself
            read_timeout=max(config["LLM_FIRST_TOKEN_TIMEOUT"], config["LLM_IDLE_TIMEOUT"]) + 5,
            max_connections=config["LLM_CONCURRENCY"],
        )
    from chatapp.services.llm.offline import OfflineProvider

    return OfflineProvider(max_tokens=max_tokens or config["OFFLINE_MAX_TOKENS"])


def _single_model(config: dict) -> ModelChoice:
    kind = config.get("LLM_PROVIDER") or ("openai" if config.get("LLM_BASE_URL") else "offline")
    if kind not in PROVIDERS:
        raise ValueError(f"CHATAPP_LLM_PROVIDER must be 'openai' or 'offline', not {kind!r}")
    if kind == "offline":
        return _offline_model()
    return ModelChoice(id=config["LLM_MODEL"], label=config["LLM_MODEL"], provider="openai",
                       model=config["LLM_MODEL"], base_url=config.get("LLM_BASE_URL"),
                       vision=bool(config.get("LLM_VISION")))


def _offline_model(model_id: str = "offline", label: str | None = None) -> ModelChoice:
    from chatapp.services.llm.offline import OfflineProvider

    return ModelChoice(id=model_id, label=label or OfflineProvider.label, provider="offline")


def _listed_model(config: dict, entry, index: int) -> ModelChoice:
    where = f"CHATAPP_LLM_MODELS[{index}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
        raise ValueError(f"{where} must be an object with an \"id\"")
    unknown = set(entry) - {"id", "label", "provider", "model", "base_url", "api_key_env",
                            "vision"}
    if unknown:
        raise ValueError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    model_id = entry["id"]
    if len(model_id) > 120:
        raise ValueError(f"{where}: ids are limited to 120 characters")
    provider = entry.get("provider") or ("offline" if model_id == "offline" else "openai")
    if provider not in PROVIDERS:
        raise ValueError(f"{where}: provider must be 'openai' or 'offline', not {provider!r}")
    if provider == "offline":
        return _offline_model(model_id, entry.get("label"))
    base_url = entry.get("base_url") or config.get("LLM_BASE_URL")
    if not base_url:
        raise ValueError(f"{where} needs a base_url (or set CHATAPP_LLM_BASE_URL)")
    return ModelChoice(id=model_id, label=entry.get("label") or model_id, provider="openai",
                       model=entry.get("model") or model_id, base_url=base_url,
                       api_key_env=entry.get("api_key_env"), vision=entry.get("vision") is True)
