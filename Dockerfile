# frigate-like: the daemon, Debian's ffmpeg, the models, tini, nginx (RTMP) and, by default,
# Coral's libedgetpu. Build stages, then the runtime stage:
#   python  the base + Debian's python3 (what build and model start from)
#   build   Python wheels for the project and every dependency, installed into /opt/venv
#   model   the COCO models, checked against pinned sha256 sums: SSD MobileNet v1 for the CPU
#           (/cpu_model.tflite), SSDLite MobileDet for a Coral (/edgetpu_model.tflite, Frigate
#           0.8's), their labelmap (/labelmap.txt) and the list of their sums (/models.sha256)
#   coral   libedgetpu's .deb from Coral's apt repository (skipped with CORAL=none)
#   final   the base system + python3, ffmpeg, tini, nginx + /opt/venv + models; no compilers, no pip
#
# Build arguments:
#   BASE_IMAGE  debian:bookworm-slim; docker/smoke.sh passes a locally built stand-in when no
#               registry is reachable (docker/local-base.sh).
#   CORAL       std (default), max (faster, runs hotter; you accept Coral's EULA for it) or none
#               (no Edge TPU support: builds where Coral's repository is unreachable).
#   MODEL_URL   TensorFlow's public zip; docker/model-cache/detect.tflite is used instead when
#               present (offline builds). Both are checked against MODEL_SHA256.
#   EDGETPU_MODEL  ssdlite_mobiledet (default): EDGETPU_MODEL_URL, or docker/model-cache/ with the
#               URL's file name when present, checked against EDGETPU_MODEL_SHA256; none: no
#               /edgetpu_model.tflite (builds that cannot reach it; /models.sha256 says so).
# Nothing of the user's is in the image: the config is mounted at /config, media at /media/frigate.
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS python
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && apt-get clean && rm -rf /var/lib/apt/lists/*

FROM python AS build
RUN python3 -m venv /opt/build && python3 -m venv --without-pip /opt/venv
# The dependencies first, from pyproject.toml alone: this layer survives changes to the code.
COPY pyproject.toml /src/
RUN --mount=type=cache,target=/root/.cache/pip \
    python3 -c "import tomllib; print('\n'.join(tomllib.load(open('/src/pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /src/requirements.txt \
 && /opt/build/bin/pip wheel --wheel-dir /wheels -r /src/requirements.txt
COPY README.md /src/
COPY frigate_like /src/frigate_like
RUN --mount=type=cache,target=/root/.cache/pip \
    /opt/build/bin/pip wheel --no-deps --wheel-dir /wheels /src \
 && /opt/build/bin/pip --python /opt/venv/bin/python install --no-index --find-links /wheels frigate-like
# Parts of the wheels the daemon never loads (LiteRT maps only its interpreter wrapper, libLiteRt
# and libpywrap_litert_common while detecting, with or without the Edge TPU delegate): LiteRT's
# WebGPU accelerator, converter, calibration and model tools; test suites, type stubs, C headers,
# numpy's Fortran wrapper generator, the Swagger UI's source maps (read only by browser devtools).
RUN cd /opt/venv/lib/python3.*/site-packages \
 && find . -depth -type d -name tests -exec rm -rf {} + \
 && find . \( -name "*.pyi" -o -name "*.map" -o -name "*.h" \) -delete \
 && rm -rf numpy/f2py numpy/_core/include \
 && cd ai_edge_litert && rm -rf tools vendors aot libLiteRtWebGpuAccelerator.so _pywrap_litert_converter.so \
      _pywrap_analyzer_wrapper.so _pywrap_tensorflow_lite_calibration_wrapper.so _pywrap_tfl_calibration.so \
      _pywrap_modify_model_interface.so format_converter_wrapper_pybind11.so pywrap_genai_ops.so

# The zip's sha256 as public build recipes pin it; detect.tflite's is the model inside it. The
# Edge TPU model is Frigate 0.8's: SSDLite MobileDet (COCO, 320x320, quantised, compiled for the
# Edge TPU), the file's sha256 as public build recipes pin it. Both models number COCO's 90
# classes as labelmap.txt does (Frigate 0.8 shipped one labelmap for both). /models.sha256
# lists every model file the image holds (`sha256sum -c /models.sha256` checks them).
FROM python AS model
ARG MODEL_URL=https://storage.googleapis.com/download.tensorflow.org/models/tflite/coco_ssd_mobilenet_v1_1.0_quant_2018_06_29.zip
ARG MODEL_ZIP_SHA256=a809cd290b4d6a2e8a9d5dad076e0bd695b8091974e0eed1052b480b2f21b6dc
ARG MODEL_SHA256=e4b118e5e4531945de2e659742c7c590f7536f8d0ed26d135abcfe83b4779d13
ARG EDGETPU_MODEL=ssdlite_mobiledet
ARG EDGETPU_MODEL_URL=https://github.com/google-coral/test_data/raw/release-frogfish/ssdlite_mobiledet_coco_qat_postprocess_edgetpu.tflite
ARG EDGETPU_MODEL_SHA256=4a2be2bbb614e576d56dcb914fa52752bf0f13411512710d355d97faa1b35641
COPY docker/fetch_model.py /src/docker/
COPY docker/model-cache/ /src/docker/model-cache/
COPY docker/labelmap.txt /out/labelmap.txt
RUN python3 /src/docker/fetch_model.py --url "$MODEL_URL" --member detect.tflite --zip-sha256 "$MODEL_ZIP_SHA256" \
      --sha256 "$MODEL_SHA256" --cache /src/docker/model-cache --out /out/cpu_model.tflite \
 && case "$EDGETPU_MODEL" in \
      ssdlite_mobiledet) python3 /src/docker/fetch_model.py --url "$EDGETPU_MODEL_URL" \
          --sha256 "$EDGETPU_MODEL_SHA256" --cache /src/docker/model-cache --out /out/edgetpu_model.tflite ;; \
      none) ;; \
      *) echo "EDGETPU_MODEL must be ssdlite_mobiledet or none, not '$EDGETPU_MODEL'" >&2; exit 1 ;; \
    esac \
 && cd /out && sha256sum /out/*.tflite /out/labelmap.txt | sed 's|  /out/|  /|' > models.sha256 \
 && if [ ! -f edgetpu_model.tflite ]; then \
      echo "# no /edgetpu_model.tflite: built with EDGETPU_MODEL=none; mount an Edge TPU model there or set model.path" \
        >> models.sha256; \
    fi \
 && cat models.sha256

FROM ${BASE_IMAGE} AS coral
ARG CORAL=std
RUN mkdir /debs \
 && if [ "$CORAL" != none ]; then \
      apt-get update \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl ca-certificates gnupg \
      && curl -fsSL https://packages.cloud.google.com/apt/doc/apt-key.gpg | gpg --dearmor -o /usr/share/keyrings/coral.gpg \
      && echo "deb [signed-by=/usr/share/keyrings/coral.gpg] https://packages.cloud.google.com/apt coral-edgetpu-stable main" \
           > /etc/apt/sources.list.d/coral.list \
      && apt-get update && cd /debs && apt-get download "libedgetpu1-$CORAL"; \
    fi

FROM ${BASE_IMAGE}
ARG CORAL=std
COPY --from=coral /debs/ /tmp/coral/
# ffmpeg: Debian's (VAAPI/QSV/V4L2 decoders); tini: PID 1, reaps orphans; nginx + rtmp: RTMP re-stream;
# python3-gi + GStreamer's RTSP server (good: RTP (de)payloaders, rtspsrc; bad: h264parse/h265parse): the
# RTSP restream (frigate_like/restream/), run by this python3, not the venv's.
RUN apt-get update \
 && if [ "$CORAL" = max ]; then echo "libedgetpu1-max libedgetpu/accepted-eula boolean true" | debconf-set-selections; fi \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 ffmpeg tini nginx-light libnginx-mod-rtmp $(ls /tmp/coral/*.deb 2>/dev/null) \
      python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
 # Mesa's OpenGL drivers and the LLVM they link (160 MB) come in only through SDL2, for ffplay's
 # window; ffmpeg never loads them. Nor does anything here use the desktop's MIME database or
 # the network tools nginx's package wants for its init scripts. Purged from dpkg's records as
 # well: an image built FROM this one gets them back with `apt-get -f install`.
 && dpkg --purge --force-depends libgl1-mesa-dri libllvm15 libz3-4 xkb-data shared-mime-info iproute2 \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /tmp/coral /var/log/nginx/* \
 && ln -sf /dev/stderr /var/log/nginx/error.log
COPY --from=build /opt/venv /opt/venv
COPY --from=model /out/ /
COPY docker/entrypoint.sh /usr/local/bin/docker-entrypoint
COPY docker/*.conf /etc/frigate-like/

# FRIGATE_LIKE_RETRY_DELAY: after a start-up failure the user must fix (no config, a bad one, no
# Coral) the daemon waits this long before exiting, so a restart policy retries once a minute
# instead of spinning. HOME: manual recordings default to ~/skellycam_data, on the media volume.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    FRIGATE_LIKE_CONFIG=/config/config.yml \
    FRIGATE_LIKE_RETRY_DELAY=60 \
    HOME=/media/frigate/home
VOLUME ["/media/frigate"]
EXPOSE 5000 1935 8554
STOPSIGNAL SIGTERM
# Unhealthy when the API does not answer or the pipeline is stuck: a camera that should run has
# no frames, or a detector has been inside one inference for too long (frigate_like/health.py).
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 CMD ["python", "-m", "frigate_like.health"]
ENTRYPOINT ["tini", "--", "docker-entrypoint"]
CMD ["run"]
