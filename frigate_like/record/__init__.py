"""Recording: the cache segment index, event clips cut from it, and (later) the recordings maintainer."""
