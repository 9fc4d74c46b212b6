#!/bin/sh
# The image's entrypoint, run by tini (PID 1, which reaps every orphaned child such as a killed
# camera's ffmpeg). Starts nginx-rtmp beside the daemon (as Frigate 0.8's image did) for cameras
# with the rtmp role when its config is in the image, then replaces itself with the daemon so
# tini's SIGTERM reaches the daemon directly.
set -eu
rtmp_conf=/etc/frigate-like/nginx-rtmp.conf
if [ "${1:-}" = run ] && [ -f "$rtmp_conf" ]; then
  mkdir -p /var/lib/frigate-like-nginx
  # nginx daemonizes itself (the file has no "daemon off;") and logs to stderr
  nginx -p /var/lib/frigate-like-nginx/ -c "$rtmp_conf" -g 'pid /run/frigate-like-nginx.pid;' \
    || echo "frigate-like: nginx (RTMP) did not start; cameras publish no RTMP stream" >&2
fi
exec frigate-like "$@"
