"""frigate-like: a self-hosted NVR daemon."""

__version__ = "0.1.0"
