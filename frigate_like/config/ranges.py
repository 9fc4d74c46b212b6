"""Numeric ranges the models do not state: a size, rate or retention a camera could never have is a problem.

pydantic checks a number's type and sign; ``width: 99999999999999999998`` is still a valid
int. :func:`check_ranges` walks the validated config and names each value outside a sane range
by its key path, so ``check-config`` reports it like any other mistake.
"""

from __future__ import annotations

from typing import Any

MAX_PIXELS = 16384  # a side of a frame: 16K
DAY_S = 86400
# the last key of a path → (minimum, maximum, unit)
LIMITS: dict[str, tuple[float, float, str]] = {
    "width": (1, MAX_PIXELS, "pixels"),
    "height": (1, MAX_PIXELS, "pixels"),
    "frame_height": (1, MAX_PIXELS, "pixels"),
    "fps": (1, 120, "frames per second"),
    "min_area": (0, MAX_PIXELS * MAX_PIXELS, "pixels"),
    "max_area": (0, MAX_PIXELS * MAX_PIXELS, "pixels"),
    "contour_area": (0, MAX_PIXELS * MAX_PIXELS, "pixels"),
    "pre_capture": (0, 3600, "seconds"),
    "post_capture": (0, 3600, "seconds"),
    "max_seconds": (1, DAY_S, "seconds"),
    "best_image_timeout": (1, DAY_S, "seconds"),
    "stats_interval": (1, DAY_S, "seconds"),
    "retain_days": (0, 36500, "days"),
    "min_free_mb": (0, 1 << 30, "MB"),
    "max_disappeared": (1, 100_000, "frames"),
    "num_threads": (1, 256, "threads"),
    "port": (1, 65535, ""),
}
RETAIN_DAYS = (0.0, 36500.0, "days")  # retain.default and retain.objects.<label>
LARGEST = 2**53  # any other number beyond this is no setting anyone means


def check_ranges(data: Any, path: tuple[str, ...] = ()) -> list[str]:
    """One ``key.path: ...`` problem per number outside its range in ``data`` (a config as plain data)."""
    if isinstance(data, dict):
        return [p for key, value in data.items() for p in check_ranges(value, (*path, str(key)))]
    if isinstance(data, list | tuple):
        return [p for i, value in enumerate(data) for p in check_ranges(value, (*path, str(i)))]
    if isinstance(data, bool) or not isinstance(data, int | float):
        return []
    key = ".".join(path)
    limits = RETAIN_DAYS if "retain" in path[-3:-1] or path[-2:-1] == ("retain",) else LIMITS.get(path[-1])
    if limits is None:
        return [f"{key}: {data} is too large"] if abs(data) > LARGEST else []
    low, high, unit = limits
    if low <= data <= high:
        return []
    shown = f"{data:g}" if isinstance(data, float) else str(data)
    return [f"{key}: must be between {low:g} and {high:g}{' ' + unit if unit else ''}, got {shown}"]
