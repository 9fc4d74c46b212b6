#!/usr/bin/env bash
# Sets up a virtualenv and runs the daemon on config/demo.yml (real footage and model from ../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[ffmpeg]'  # the extra: an ffmpeg when the system has none
exec .venv/bin/frigate-like run -c config/demo.yml "$@"
