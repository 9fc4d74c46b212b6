"""One connection per camera: the RTSP restream (``server.py``, GStreamer's RTSP server in a supervised
subprocess) every reader goes through, and the fragmented-MP4 live view (``live.py``) at camera quality."""
