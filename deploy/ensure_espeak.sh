#!/usr/bin/env bash
# Replies are read aloud offline by Debian's espeak-ng (a program, not a Python package).
# Install it with apt when it is missing and we can; otherwise say exactly what to do.
# With --optional (make run) a missing espeak-ng is only a warning: chatapp runs, and "Listen"
# says the audio could not be made.
set -euo pipefail
if command -v espeak-ng >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing espeak-ng to read replies aloud (apt-get install espeak-ng)…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null
  command -v espeak-ng >/dev/null 2>&1 && exit 0
fi
echo "Reading replies aloud needs espeak-ng." >&2
echo "Install it (Debian/Ubuntu: sudo apt-get install espeak-ng)." >&2
[ "${1:-}" = "--optional" ] && exit 0
exit 1
