"""Video in: ffmpeg command lines, the shared-memory frame ring, capture with a watchdog."""
