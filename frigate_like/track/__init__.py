"""Per-frame core: regions, tracking, and the camera process that drives them."""
