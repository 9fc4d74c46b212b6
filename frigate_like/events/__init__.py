"""Object lifecycles, events, snapshots: what the main process makes of camera updates."""
