"""Give detections stable ids across frames: filter, de-duplicate, match per label, count disappearance.

Matching is greedy by centroid distance measured in box sizes: a detection can only
continue a track whose box is within ``max_move`` box sizes of it, and for a track that
has been missing for a while, only within ``min_move`` (the gate shrinks over
``fade_frames`` missing frames). Frigate 0.8 matched the nearest centroid at any
distance, which is why a person leaving on the right and the next one entering on
the left a few seconds later became one object (one event for two visits).

A tracked object is only counted as missing in a frame in which it was looked for
(its box lay in a detected region) or once it has already been missed; a stationary
object the frame processor chose not to re-detect is carried over unchanged.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from frigate_like.config import ObjectsConfig
from frigate_like.messages import Box, Detection, TrackedObject
from frigate_like.track.masks import PolygonMask
from frigate_like.track.regions import intersection, iou

Polygons = Sequence[Sequence[tuple[int, int]]]

# A detection continues a track when its centroid is within this many box sizes
# (the larger side of the larger box) of the track's centroid...
MAX_MOVE = 1.0
# ...shrinking, as the track stays missing, to this: an object lost for a while is only
# found again where it was lost (the detector missed it); something appearing elsewhere
# is someone else (the next visitor entering as the last one has left).
MIN_MOVE = 0.25
# A new box overlapping the box where the object last settled by at least this much
# is "the same place": the object is motionless.
STATIONARY_IOU = 0.7
# Same-label detections overlapping this much are one object (Frigate's NMS threshold)...
NMS_IOU = 0.4
# ...and so is a weaker box lying this much inside a stronger one (a torso inside a person).
CONTAINED_SHARE = 0.8
# A track was looked for when this share of its box lies inside a detected region.
LOOKED_SHARE = 0.6


class DetectionFilter:
    """Drops detections of untracked labels, outside the area/score limits, or masked.

    Masks are tested at the bottom centre of the box (where an object touches the
    ground), as in Frigate.
    """

    def __init__(self, objects: ObjectsConfig, frame_width: int, frame_height: int) -> None:
        self.labels = frozenset(objects.track)
        self._filters = dict(objects.filters)
        self._mask = PolygonMask(objects.mask, frame_width, frame_height)
        self._label_masks = {
            label: PolygonMask(f.mask, frame_width, frame_height) for label, f in self._filters.items()
        }
        self._frame_height = frame_height

    def min_score(self) -> float:
        """The lowest score any tracked label accepts (rows below it can be dropped early)."""
        scores = [self._filters[label].min_score for label in self.labels if label in self._filters]
        return min(scores) if len(scores) == len(self.labels) else 0.0

    def keep(self, det: Detection) -> bool:
        if det.label not in self.labels:
            return False
        x = (det.box[0] + det.box[2]) // 2
        y = min(det.box[3], self._frame_height - 1)
        limits = self._filters.get(det.label)
        if limits is not None:
            if not limits.min_area <= det.area <= limits.max_area or det.score < limits.min_score:
                return False
            if self._label_masks[det.label].covers(x, y):
                return False
        return not self._mask.covers(x, y)


def suppress_duplicates(detections: Iterable[Detection]) -> list[Detection]:
    """Non-maximum suppression per label, which also drops weaker boxes lying inside stronger ones."""
    kept: list[Detection] = []
    for det in sorted(detections, key=lambda d: d.score, reverse=True):
        if not any(
            other.label == det.label
            and (
                iou(other.box, det.box) >= NMS_IOU
                or intersection(other.box, det.box) >= CONTAINED_SHARE * min(det.area, other.area)
            )
            for other in kept
        ):
            kept.append(det)
    return kept


def centroid(box: Box) -> tuple[int, int]:
    return (box[0] + box[2]) // 2, (box[1] + box[3]) // 2


def move_cost(a: Box, b: Box) -> float:
    """Centroid distance between two boxes in units of the larger side of the larger box."""
    (ax, ay), (bx, by) = centroid(a), centroid(b)
    size = max(a[2] - a[0], a[3] - a[1], b[2] - b[0], b[3] - b[1], 1)
    return float(((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5 / size)


@dataclass(slots=True)
class Track:
    """The tracker's live state of one object (read it, do not change it from outside)."""

    id: str
    label: str
    score: float
    box: Box
    area: int
    region: Box
    frame_time: float  # frame of the latest matching detection
    start_time: float
    detected: bool = True  # matched in the latest frame
    disappeared: int = 0  # frames missing since the first frame it was looked for and not found
    motionless_count: int = 0  # frames the box stayed where it settled
    last_look: int = 0  # frame number (tracker.frame_count) it was last looked for
    position: Box = field(default=(0, 0, 0, 0))  # where the object settled

    def snapshot(self) -> TrackedObject:
        return TrackedObject(
            id=self.id,
            label=self.label,
            score=self.score,
            box=self.box,
            area=self.area,
            region=self.region,
            centroid=centroid(self.box),
            frame_time=self.frame_time,
            detected=self.detected,
            motionless_count=self.motionless_count,
        )


class ObjectTracker:
    """Stable ids (``<frame_time>-<6 random chars>``) for the objects of one camera."""

    def __init__(
        self,
        max_disappeared: int,
        detection_filter: DetectionFilter | None = None,
        *,
        max_move: float = MAX_MOVE,
        min_move: float = MIN_MOVE,
        fade_frames: int = 10,
        stationary_iou: float = STATIONARY_IOU,
        rng: random.Random | None = None,
    ) -> None:
        self.max_disappeared = max_disappeared
        self.detection_filter = detection_filter
        self.max_move = max_move
        self.min_move = min_move
        self.fade_frames = max(1, fade_frames)
        self.stationary_iou = stationary_iou
        self._rng = rng or random.Random()
        self._tracks: dict[str, Track] = {}
        self.frame_count = 0

    @property
    def tracks(self) -> Mapping[str, Track]:
        """The live tracks by id (a read-only view; the values must not be modified)."""
        return self._tracks

    def objects(self) -> tuple[TrackedObject, ...]:
        return tuple(t.snapshot() for t in self._tracks.values())

    def update(
        self, detections: Iterable[Detection], frame_time: float, looked: Sequence[Box] | None = None
    ) -> tuple[TrackedObject, ...]:
        """Match one frame's detections to the tracks; returns every live object after it.

        ``looked`` lists the regions the detector ran on in this frame; a track outside
        all of them was not looked for and, unless already missing, is carried over.
        ``None`` means the whole frame was looked at.
        """
        self.frame_count += 1
        kept = [d for d in detections if self.detection_filter is None or self.detection_filter.keep(d)]
        kept = suppress_duplicates(kept)
        unmatched_tracks = dict(self._tracks)
        for det in self._match(kept, unmatched_tracks, frame_time):
            self._register(det, frame_time)
        for track in unmatched_tracks.values():
            self._miss(track, looked)
        return self.objects()

    def _match(self, detections: list[Detection], unmatched: dict[str, Track], frame_time: float) -> list[Detection]:
        """Assign detections to tracks (closest pairs first); returns the detections left over."""
        pairs = sorted(
            (cost, i, track.id)
            for i, det in enumerate(detections)
            for track in unmatched.values()
            if track.label == det.label and (cost := move_cost(track.box, det.box)) <= self.gate(track)
        )
        used: set[int] = set()
        for _, i, track_id in pairs:
            if i in used or track_id not in unmatched:
                continue
            self._hit(unmatched.pop(track_id), detections[i], frame_time)
            used.add(i)
        return [d for i, d in enumerate(detections) if i not in used]

    def gate(self, track: Track) -> float:
        """How far (in box sizes) a detection may be from ``track`` to continue it."""
        missing = max(0, track.disappeared - 1)  # one missed frame is not yet lost
        fade = self.max_move - (self.max_move - self.min_move) * missing / self.fade_frames
        return max(self.min_move, fade)

    def _hit(self, track: Track, det: Detection, frame_time: float) -> None:
        if iou(det.box, track.position) >= self.stationary_iou:
            track.motionless_count += 1
        else:
            track.motionless_count = 0
            track.position = det.box
        track.score = det.score
        track.box = det.box
        track.area = det.area
        track.region = det.region
        track.frame_time = frame_time
        track.detected = True
        track.disappeared = 0
        track.last_look = self.frame_count

    def _miss(self, track: Track, looked: Sequence[Box] | None) -> None:
        track.detected = False
        track.motionless_count += 1  # its box did not move
        was_looked_for = looked is None or any(
            intersection(track.box, region) >= LOOKED_SHARE * max(track.area, 1) for region in looked
        )
        if was_looked_for:
            track.last_look = self.frame_count
        if was_looked_for or track.disappeared > 0:
            track.disappeared += 1
            if track.disappeared > self.max_disappeared:
                del self._tracks[track.id]

    def _register(self, det: Detection, frame_time: float) -> None:
        suffix = "".join(self._rng.choices(string.ascii_lowercase + string.digits, k=6))
        track_id = f"{frame_time}-{suffix}"
        self._tracks[track_id] = Track(
            id=track_id,
            label=det.label,
            score=det.score,
            box=det.box,
            area=det.area,
            region=det.region,
            frame_time=frame_time,
            start_time=frame_time,
            last_look=self.frame_count,
            position=det.box,
        )
