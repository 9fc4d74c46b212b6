"""frigate-like: a self-hosted NVR daemon."""

__version__ = "0.1.0"

# Where the config file is unless ``-c`` says otherwise (here so light modules need not import the CLI).
CONFIG_ENV = "FRIGATE_LIKE_CONFIG"
DEFAULT_CONFIG = "config/config.yml"
