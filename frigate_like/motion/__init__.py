"""Motion detection: cheap frame differencing that tells the detector where to look."""

from frigate_like.motion.detector import MotionDetector

__all__ = ["MotionDetector"]
