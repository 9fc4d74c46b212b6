#!/usr/bin/env bash
# Builds the image with whatever builder this machine has and runs it on the demo footage:
#   /api/stats answers; an event gets a clip and a snapshot; `stop` takes under 10 s and exits 0;
#   the database survives a restart. Also: the entrypoint starts nginx for RTMP, tini is PID 1
#   and reaps the ffmpeg a killed camera process orphans (with Python as PID 1 it stays a
#   zombie), the health check passes, a first start without a config writes the starter (or
#   says how to make one when /config is read-only), a missing Coral is one line and exit 1;
#   /models.sha256 lists the models' pinned sums; a Frigate 0.8 Coral config (no model section)
#   passes check-config on the image's /edgetpu_model.tflite (no Coral needed to check).
# Prints the figures (build time, image size, stop time) and writes them as JSON to $SMOKE_RESULTS.
#
# Builder: a running Docker engine, else podman (installed from Debian when missing). Base image:
# debian:bookworm-slim when a registry answers, else one built here with debootstrap from
# Debian's mirror (docker/local-base.sh; reused on later runs, REBUILD_BASE=1 makes it anew).
# CORAL=none when Coral's apt repository does not answer. EDGETPU_MODEL=none when the Edge TPU
# model is neither in docker/model-cache/ nor downloadable (or when asked for): the Coral config
# check is then skipped, saying why on stdout. NO_CACHE=1 builds without layer cache.
# SHARED: the folder with models/ and media/ (default ../shared beside the checkout).
# Exit status: 0 passed, 1 failed, 77 no builder can be had (the only reason to skip it).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "smoke: $*"; }
fail() { echo "smoke: FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }

shared=$(realpath "${SHARED:-../shared}")
image=${IMAGE:-localhost/frigate-like:smoke}
results=${SMOKE_RESULTS:-bench/results/docker-smoke.json}
video=one-by-one-person-detection.mp4
[ -f "$shared/media/$video" ] || fail "no demo footage at $shared/media/$video (set SHARED)"

# --- builder -------------------------------------------------------------------------------
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  builder=docker
else
  if ! command -v podman >/dev/null; then
    say "no Docker engine: installing podman from Debian"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc >/dev/null; } \
      || { echo "smoke: SKIP: no Docker engine, and podman cannot be installed" >&2; exit 77; }
  fi
  builder=podman
fi
say "builder: $($builder --version)"

# --- base image ----------------------------------------------------------------------------
base=debian:bookworm-slim
base_origin="registry"
base_s=0
if ! $builder image inspect "$base" >/dev/null 2>&1 && ! timeout 120 $builder pull -q "$base" >/dev/null 2>&1; then
  base=localhost/frigate-like-base:bookworm-slim
  base_origin="local debootstrap"
  if [ -z "${REBUILD_BASE:-}" ] && $builder image inspect "$base" >/dev/null 2>&1; then
    say "no registry reachable: using the base image built here earlier with debootstrap ($base)"
  else
    say "no registry reachable: building the base image locally with debootstrap from Debian's mirror"
    t0=$(now)
    docker/local-base.sh "$builder" "$base"
    base_s=$(since "$t0")
    say "base image built in $base_s s"
  fi
fi

# podman where cgroups v1 and v2 are mixed and rlimits are capped (containers in containers):
# crun refuses hybrid cgroups and both runtimes fail to raise rlimits, so runc with rlimits at
# or below this shell's. Tried only when the plain way fails.
engine=("$builder")
run_opts=()
if [ "$builder" = podman ] && ! podman run --rm "$base" true >/dev/null 2>&1; then
  command -v runc >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq runc >/dev/null; }
  limit=$(( $(ulimit -Hn) < 4096 ? $(ulimit -Hn) : 4096 ))
  engine=(podman --runtime runc)
  run_opts=(--ulimit "nofile=$limit:$limit" --ulimit "nproc=$limit:$limit")
  "${engine[@]}" run --rm "${run_opts[@]}" "$base" true >/dev/null || fail "podman cannot run containers here"
  say "podman: plain runs fail here (hybrid cgroups, capped rlimits): using runc, nofile/nproc $limit"
fi

# --- build ---------------------------------------------------------------------------------
coral=${CORAL:-std}
if [ "$coral" != none ] && ! curl -fsS --max-time 15 -o /dev/null \
    https://packages.cloud.google.com/apt/dists/coral-edgetpu-stable/Release 2>/dev/null; then
  coral=none
  say "Coral's apt repository does not answer: building with CORAL=none (no libedgetpu in this image)"
fi
if [ ! -f docker/model-cache/detect.tflite ] && [ -f "$shared/models/ssd_mobilenet_v1_coco_quant.tflite" ]; then
  cp "$shared/models/ssd_mobilenet_v1_coco_quant.tflite" docker/model-cache/detect.tflite
  say "model: the shared copy goes to docker/model-cache/ (the build checks its sha256 like a download)"
fi
pinned() { sed -n "s/^ARG $1=//p" Dockerfile; }
edgetpu_model=${EDGETPU_MODEL:-$(pinned EDGETPU_MODEL)}
edgetpu_url=$(pinned EDGETPU_MODEL_URL)
edgetpu_skip=""
if [ "$edgetpu_model" = none ]; then
  edgetpu_skip="EDGETPU_MODEL=none was asked for"
elif [ -f "docker/model-cache/${edgetpu_url##*/}" ]; then
  say "Edge TPU model: docker/model-cache/${edgetpu_url##*/} (the build checks its sha256)"
elif ! curl -fsSL --max-time 30 -r 0-0 -o /dev/null "$edgetpu_url" 2>/dev/null; then
  edgetpu_model=none
  edgetpu_skip="the Edge TPU model is not in docker/model-cache/ and $edgetpu_url cannot be downloaded"
  say "$edgetpu_skip: building with EDGETPU_MODEL=none (no /edgetpu_model.tflite in this image)"
fi
build_opts=(--network host --build-arg "BASE_IMAGE=$base" --build-arg "CORAL=$coral"
            --build-arg "EDGETPU_MODEL=$edgetpu_model" -t "$image")
[ "$builder" = podman ] && build_opts+=(--format docker "${run_opts[@]}")  # docker format keeps HEALTHCHECK
[ -n "${NO_CACHE:-}" ] && build_opts+=(--no-cache)
say "building $image (base $base, CORAL=$coral, EDGETPU_MODEL=$edgetpu_model)"
t0=$(now)
build_log=$(mktemp /tmp/frigate-like-smoke-build.XXXXXX)
nice -n 10 "${engine[@]}" build "${build_opts[@]}" . >"$build_log" 2>&1 \
  || { tail -30 "$build_log"; fail "image build failed (log: $build_log)"; }
rm -f "$build_log"
build_s=$(since "$t0")
image_bytes=$($builder image inspect --format '{{.Size}}' "$image")
say "built in ${build_s} s; image size $((image_bytes / 1000000)) MB"

# --- run -----------------------------------------------------------------------------------
work=$(mktemp -d /var/tmp/frigate-like-smoke.XXXXXX)
containers=()
cleanup() {
  for c in "${containers[@]}"; do $builder rm -f "$c" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/config" "$work/media" "$work/empty"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
api="http://127.0.0.1:$port"
# An RTMP config for the entrypoint to start nginx with (a free port: the host network is shared)
rtmp_port=$(free_port)
cat >"$work/nginx-rtmp.conf" <<NGINX
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
events {}
rtmp { server { listen 127.0.0.1:$rtmp_port; application live { live on; } } }
NGINX

# The starter config the image writes on a first start, with only the camera, the port and the broker
# changed (this machine's Mosquitto on the shared host network, not compose's: the health check counts
# an MQTT link down for 90 s as unhealthy).
mqtt_port=${SMOKE_MQTT_PORT:-1883}
"${engine[@]}" run --rm "${run_opts[@]}" "$image" starter-config \
  | sed -e "s|^  port: 5000|  port: $port|" -e "s|^  host: 0.0.0.0|  host: 127.0.0.1|" \
        -e "s|^  host: mosquitto .*|  host: 127.0.0.1\n  port: $mqtt_port\n  topic_prefix: smoke-$$|" -e "/^  topic_prefix: frigate$/d" \
        -e "s|- path: rtsp://.*|- path: /footage/$video\n          input_args: -re -stream_loop -1 -fflags +genpts|" \
        -e "s|^    width: 640 .*|    width: 768|" -e "s|^    height: 360|    height: 432|" >"$work/config/config.yml"
# like compose: /config read-only, media on a volume, the cache on tmpfs, 256 MB of /dev/shm
daemon_opts=("${run_opts[@]}" --network host --shm-size 256m --tmpfs /tmp/cache -e FRIGATE_RTSP_PASSWORD=unused
             -v "$work/media:/media/frigate" -v "$shared/media:/footage:ro")
common=("${daemon_opts[@]}" -v "$work/config:/config:ro")
"${engine[@]}" run --rm "${common[@]}" "$image" check-config >/dev/null || fail "the smoke config does not check"

# --- models --------------------------------------------------------------------------------
# /models.sha256 holds each shipped model's pinned sum, and the files match it.
sums=$("${engine[@]}" run --rm "${run_opts[@]}" --entrypoint cat "$image" /models.sha256)
grep -qx "$(pinned MODEL_SHA256)  /cpu_model.tflite" <<<"$sums" || fail "/models.sha256 lacks the CPU model's sum: $sums"
"${engine[@]}" run --rm "${run_opts[@]}" --entrypoint sha256sum "$image" --check --quiet --strict /models.sha256 \
  || fail "the image's models do not match /models.sha256"
say "/models.sha256 (matches the files):"
sed 's/^/  /' <<<"$sums"
# A Frigate 0.8 config for a Coral as 0.8's docs write it (tests/data/frigate08_docs.yml): their
# minimal config and their Coral detector, no model section, so the detector loads
# /edgetpu_model.tflite and the labels /labelmap.txt.
docs_yaml() { awk -v name="$1" '$0 == "  - name: " name { on = 1; next } on && /^  - name: / { exit }
                               on && /^      / { print substr($0, 7) }' tests/data/frigate08_docs.yml; }
mkdir -p "$work/coral08"
{ docs_yaml index-0; docs_yaml detectors-0; } >"$work/coral08/config.yml"
grep -q "type: edgetpu" "$work/coral08/config.yml" && ! grep -q "^model:" "$work/coral08/config.yml" \
  || fail "no Frigate 0.8 Coral config in tests/data/frigate08_docs.yml: $(cat "$work/coral08/config.yml")"
coral_check() { "${engine[@]}" run --rm "${daemon_opts[@]}" -v "$work/coral08:/config:ro" "$image" check-config 2>&1; }
if [ -z "$edgetpu_skip" ]; then
  grep -qx "$(pinned EDGETPU_MODEL_SHA256)  /edgetpu_model.tflite" <<<"$sums" \
    || fail "/models.sha256 lacks the Edge TPU model's pinned sum"
  out=$(coral_check) || fail "a Frigate 0.8 Coral config does not pass check-config in the image: $out"
  say "Frigate 0.8 Coral config (no model section): check-config in the image: $out"
else
  grep -q "^# no /edgetpu_model.tflite" <<<"$sums" || fail "/models.sha256 does not say the Edge TPU model is missing"
  out=$(coral_check) && fail "check-config passed without /edgetpu_model.tflite: $out"
  grep -q "file not found: /edgetpu_model.tflite" <<<"$out" || fail "Coral config without the model: $out"
  say "SKIPPED: the Frigate 0.8 Coral config through check-config on the image's Edge TPU model, because" \
    "$edgetpu_skip; this image has none (check-config says: file not found: /edgetpu_model.tflite)"
fi

name=frigate-like-smoke-$$
containers+=("$name")
wait_api() {  # $1: seconds
  local deadline=$((SECONDS + $1))
  until curl -fs -o /dev/null "$api/api/stats"; do
    [ $SECONDS -lt "$deadline" ] || { $builder logs "$name" 2>&1 | tail -30; fail "/api/stats did not answer in $1 s"; }
    sleep 1
  done
}
t0=$(now)
"${engine[@]}" run -d --name "$name" "${common[@]}" -v "$work/nginx-rtmp.conf:/etc/frigate-like/nginx-rtmp.conf:ro" \
  "$image" >/dev/null
wait_api 120
ready_s=$(since "$t0")
say "/api/stats answers $ready_s s after the start"
[ "$($builder exec "$name" cat /proc/1/comm)" = tini ] || fail "PID 1 is not tini"
listening() { $builder exec "$name" cat /proc/net/tcp | awk -v p="$(printf ':%04X' "$1")" '$2 ~ p"$" && $4 == "0A"' | grep -q .; }
listening "$rtmp_port" || fail "the entrypoint did not start nginx for RTMP"
say "nginx (RTMP) listens on $rtmp_port: started by the entrypoint from /etc/frigate-like/nginx-rtmp.conf"

# A finished event with a clip and a snapshot: the person walks in within a minute; the event
# ends when they leave, its clip (Frigate 0.8's /clips/<camera>-<id>.mp4) post_capture s later.
finished='import json, sys; done = [e for e in json.load(sys.stdin) if e["end_time"]]; done and print(done[0]["camera"], done[0]["id"])'
camera="" event=""
deadline=$((SECONDS + 300))
until [ -n "$event" ] && curl -fs -o "$work/clip.mp4" "$api/clips/$camera-$event.mp4"; do
  [ $SECONDS -lt $deadline ] || { $builder logs "$name" 2>&1 | tail -30; fail "no finished event with a clip and a snapshot"; }
  sleep 5
  read -r camera event < <(curl -fsS "$api/api/events?has_clip=1&has_snapshot=1&include_in_progress=1&limit=20" \
    | python3 -c "$finished"; echo) || true
done
curl -fsS -o "$work/snapshot.jpg" "$api/api/events/$event/snapshot.jpg"
[ "$(stat -c %s "$work/clip.mp4")" -gt 10000 ] || fail "clip too small"
[ "$(head -c 2 "$work/snapshot.jpg" | od -An -tx1 | tr -d ' ')" = ffd8 ] || fail "snapshot is not a JPEG"
say "event $event: clip $(stat -c %s "$work/clip.mp4") bytes, snapshot $(stat -c %s "$work/snapshot.jpg") bytes"

health=$($builder exec "$name" python -m frigate_like.health) || fail "health check: $health"
say "health check: $health"
# A killed camera process orphans its ffmpeg; tini (PID 1) must reap it once it exits.
camera_pids='import json, sys; c = json.load(sys.stdin)["front_door"]; print(c["pid"], c["capture_pid"])'
read -r camera_pid ffmpeg_pid < <(curl -fsS "$api/api/stats" | python3 -c "$camera_pids")
$builder exec "$name" sh -c "kill -9 $camera_pid"
deadline=$((SECONDS + 60))
until read -r pid _ < <(curl -fsS "$api/api/stats" | python3 -c "$camera_pids") && [ "$pid" != "$camera_pid" ] \
    && [ "$pid" != None ] && ! $builder exec "$name" test -e "/proc/$ffmpeg_pid"; do
  [ $SECONDS -lt $deadline ] || fail "camera not restarted or its old ffmpeg ($ffmpeg_pid) not reaped"
  sleep 2
done
# Zombies of a live parent are normal for an instant (the daemon waits for its children); one
# whose parent is PID 1 is an orphan nobody reaps, what a Python PID 1 would leave behind.
orphans=$($builder exec "$name" sh -c 'cat /proc/[0-9]*/stat 2>/dev/null | awk "\$3 == \"Z\" && \$4 == 1" | wc -l')
[ "$orphans" -eq 0 ] || fail "$orphans unreaped orphans (zombies under PID 1)"
say "camera process killed: restarted by the watchdog, its orphaned ffmpeg reaped by tini"

t0=$(now)
$builder stop -t 30 "$name" >/dev/null
stop_s=$(since "$t0")
code=$($builder inspect --format '{{.State.ExitCode}}' "$name")
[ "$code" -eq 0 ] || fail "exit code $code after stop"
python3 -c "import sys; sys.exit(float(sys.argv[1]) >= 10)" "$stop_s" || fail "stop took $stop_s s"
say "stop: ${stop_s} s, exit 0"

$builder start "$name" >/dev/null
wait_api 120
curl -fsS -o /dev/null "$api/api/events/$event" || fail "event $event is gone after a restart"
$builder stop -t 30 "$name" >/dev/null
say "after a restart the database still has event $event"

# --- first start, missing Coral ------------------------------------------------------------
# (the container's output without podman's own complaints, which start with time=)
once() { "${engine[@]}" run --rm "${run_opts[@]}" -e FRIGATE_LIKE_RETRY_DELAY=0 "$@" 2>&1 | grep -v '^time='; }
out=$(once -v "$work/empty:/config" "$image") && fail "a first start exited 0"
[ "$(wc -l <<<"$out")" -eq 1 ] && grep -q "wrote a starter config there" <<<"$out" \
  && [ -f "$work/empty/config.yml" ] || fail "first start: $out"
say "first start: $out"
out=$(once -v "$work/config:/config:ro" -e FRIGATE_LIKE_CONFIG=/config/none.yml "$image") \
  && fail "a first start on a read-only /config exited 0"
[ "$(wc -l <<<"$out")" -eq 1 ] && grep -q "none can be written there" <<<"$out" || fail "read-only first start: $out"
say "first start, read-only /config: $out"
sed -e 's/^  cpu:$/  coral:/' -e 's/^    type: cpu$/    type: edgetpu/' -e '/num_threads/d' \
  "$work/config/config.yml" >"$work/empty/config.yml"
out=$(once "${daemon_opts[@]}" -v "$work/empty:/config:ro" "$image") && fail "no Coral but exit 0"
[ "$(grep -c "no Edge TPU found" <<<"$out")" -eq 1 ] && ! grep -q Traceback <<<"$out" || fail "missing Coral: $out"
say "missing Coral, exit 1: $(grep "no Edge TPU" <<<"$out")"

mkdir -p "$(dirname "$results")"
no_cache=$([ -n "${NO_CACHE:-}" ] && echo true || echo false)
cat >"$results" <<JSON
{"builder": "$builder", "base": "$base_origin", "base_build_s": $base_s, "coral": "$coral",
 "edgetpu_model": "$edgetpu_model", "edgetpu_check": "$([ -z "$edgetpu_skip" ] && echo passed || echo skipped)", "no_cache": $no_cache,
 "build_s": $build_s, "image_bytes": $image_bytes, "stop_s": $stop_s, "ready_s": $ready_s}
JSON
say "PASS (figures in $results)"
