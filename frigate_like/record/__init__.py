"""Recording: cache segments, event clips, 24/7 recordings and retention, manual recordings and playback."""
