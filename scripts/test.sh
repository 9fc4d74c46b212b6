#!/usr/bin/env bash
# Sets up everything the test suite needs on a fresh Debian machine, then runs it:
# system ffmpeg, the local Mosquitto and PostgreSQL, a virtualenv with the project.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v ffmpeg >/dev/null 2>&1 || need_apt+=(ffmpeg)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)  # headless playback test of recordings
# the RTMP server of the rtmp role (tests start it on free ports), and Frigate 0.8's /recordings/ listing
{ command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } || need_apt+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_rtmp_module.so ] || need_apt+=(libnginx-mod-rtmp)
# the RTSP restream and the tests' local RTSP camera: GStreamer's RTSP server through the system python3
/usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer', '1.0')" >/dev/null 2>&1 \
  || need_apt+=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# tests/test_compose.py validates docker-compose.yml with a compose tool; without Docker's plugin,
# Debian's docker-compose (no recommends: it would bring the Docker engine)
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
  echo "installing docker-compose"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
fi

# Real services, started when they are down (commands from DEVELOPERS.md).
if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
  mosquitto -d -c /etc/mosquitto/mosquitto.conf || echo "warning: could not start mosquitto"
fi
if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || echo "warning: could not start postgresql"
fi

python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'

.venv/bin/ruff check frigate_like tests bench docker
.venv/bin/mypy
# Two workers, whole files each (a file's daemon fixtures stay on one worker): the daemon tests spend
# most of their time waiting on footage played in real time, so two at once halve the run (29 -> 15
# min here). Every test counts only the processes, ports and files it made, so they can share a machine.
.venv/bin/pytest -ra -n 2 --dist loadfile "$@"
