#!/bin/sh
# The image's entrypoint, run by tini (PID 1, which reaps every orphaned child such as a killed
# camera's ffmpeg). Starts nginx for the RTMP re-stream when its config is in the image, then
# replaces itself with the daemon so tini's SIGTERM reaches the daemon directly.
set -eu
rtmp_conf=/etc/frigate-like/nginx-rtmp.conf
if [ "${1:-}" = run ] && [ -f "$rtmp_conf" ]; then
  # in the background whether or not the file says "daemon off;"; nginx logs to stderr
  nginx -c "$rtmp_conf" &
fi
exec frigate-like "$@"
