"""Running Debian's espeak-ng program: the offline voice itself, and the phonemes the Piper
voice speaks from."""

from __future__ import annotations

import subprocess

from chatapp.services.voice_endpoint import VoiceFailed


def run(arguments: list[str], text: str, timeout: float = 120) -> bytes:
    """espeak-ng's standard output for `text` (on its standard input) with `arguments`;
    VoiceFailed, saying why, when it is missing, fails or takes over `timeout` seconds."""
    try:
        return subprocess.run(["espeak-ng", *arguments, "--stdin"], input=text.encode(),
                              capture_output=True, check=True, timeout=timeout).stdout
    except FileNotFoundError as error:
        raise VoiceFailed("espeak-ng is not installed (apt-get install espeak-ng).") from error
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        raise VoiceFailed(f"espeak-ng failed: {error}") from error
