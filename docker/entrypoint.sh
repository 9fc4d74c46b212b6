#!/bin/sh
# The image's entry point: nginx-rtmp beside the daemon (as Frigate 0.8's image ran it), for cameras
# with the rtmp role, then the daemon in the foreground (it gets SIGTERM from `docker stop`).
set -e
mkdir -p /var/lib/frigate-like-nginx
nginx -p /var/lib/frigate-like-nginx/ -c /etc/frigate-like/nginx-rtmp.conf -g 'pid /run/frigate-like-nginx.pid;'
exec frigate-like "$@"
