# frigate-like: one image, CPU detector by default; pass a Coral through for type: edgetpu.
FROM python:3.11-slim-bookworm

# ffmpeg from Debian (hardware decoders, v4l2); nginx with its RTMP module serves the rtmp role's
# streams (docker/nginx-rtmp.conf); libedgetpu comes from Coral's apt repo when needed.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg nginx libnginx-mod-rtmp curl unzip ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/frigate-like
COPY pyproject.toml README.md ./
COPY frigate_like ./frigate_like
COPY migrations ./migrations
COPY config ./config
RUN pip install --no-cache-dir -e .

# The public COCO SSD MobileNet v1 (quantised) model and its labels.
RUN mkdir -p /models \
 && curl -fsSL -o /tmp/model.zip https://storage.googleapis.com/download.tensorflow.org/models/tflite/coco_ssd_mobilenet_v1_1.0_quant_2018_06_29.zip \
 && unzip -j /tmp/model.zip detect.tflite labelmap.txt -d /tmp/model \
 && mv /tmp/model/detect.tflite /models/ssd_mobilenet_v1_coco_quant.tflite \
 # labelmap.txt has one name a line after a '???' background line: class i is line i+2; '???' marks unused ids
 && awk 'NR > 1 && $0 != "???" { print NR - 2, $0 }' /tmp/model/labelmap.txt > /models/coco_labelmap.txt \
 && rm -rf /tmp/model /tmp/model.zip

# Where Frigate 0.8's image put its model (the defaults of model.path / model.labelmap_path): the same
# 320x320 SSDLite MobileDet files, so a Frigate 0.8 config (model.width/height 320) runs unchanged.
RUN curl -fsSL -o /cpu_model.tflite https://github.com/google-coral/test_data/raw/master/ssdlite_mobiledet_coco_qat_postprocess.tflite \
 && curl -fsSL -o /edgetpu_model.tflite https://github.com/google-coral/test_data/raw/master/ssdlite_mobiledet_coco_qat_postprocess_edgetpu.tflite \
 && ln -s /models/coco_labelmap.txt /labelmap.txt

COPY docker/nginx-rtmp.conf /etc/frigate-like/nginx-rtmp.conf
COPY docker/entrypoint.sh /usr/local/bin/frigate-like-entrypoint

ENV FRIGATE_LIKE_CONFIG=/config/config.yml
VOLUME ["/config", "/media/frigate"]
EXPOSE 5000 1935
STOPSIGNAL SIGTERM
ENTRYPOINT ["frigate-like-entrypoint"]
CMD ["run"]
