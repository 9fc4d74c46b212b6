#!/usr/bin/env bash
# Sets up a virtualenv and runs the daemon on config/demo.yml: the model, labelmap and a short
# person clip kept in demo/ (sources and licences: NOTICE), so a fresh clone needs nothing beside it.
# Ports: FRIGATE_DEMO_PORT (HTTP, default 5000) and FRIGATE_DEMO_MQTT_PORT (broker, default 1883).
# Extra arguments go to `frigate-like run`, e.g. --move-corrupt-database.
set -euo pipefail
cd "$(dirname "$0")/.."
export FRIGATE_DEMO_PORT="${FRIGATE_DEMO_PORT:-5000}" FRIGATE_DEMO_MQTT_PORT="${FRIGATE_DEMO_MQTT_PORT:-1883}"
python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[ffmpeg]'  # the extra: an ffmpeg when the system has none
exec .venv/bin/frigate-like run -c config/demo.yml "$@"
