"""Where the files and live pictures the API serves are, in a cluster of nodes (``locate.py``)."""
