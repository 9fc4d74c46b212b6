"""SSD box decoding and NMS in vectorised numpy: ``TFLite_Detection_PostProcess`` done once, for every runtime.

A runtime that cannot run that custom operator (OpenVINO, ONNX Runtime) runs the model
up to its raw tensors — per anchor, four box encodings and one value per class — and
``SSDPostProcess`` turns them into the same four outputs LiteRT's operator gives. The
anchors and the operator's options are read from the .tflite file, so the two agree
by construction. This is the "fast" variant the TF object-detection models are
exported with (``use_regular_nms: false``): per anchor, its best class; then one
class-agnostic greedy NMS.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from frigate_like.detect.api import DEFAULT_MIN_SCORE, ModelSpec, SSDDetector, SSDOutputs, ssd_rows
from frigate_like.detect.tflite_file import TFLiteGraph, read_graph
from frigate_like.errors import DetectorUnavailable


@dataclass(frozen=True)
class RawSSDModel:
    """Where a post-process model's raw tensors are and how to decode them."""

    input_name: str
    boxes_name: str  # [1, anchors, 4]: ty, tx, th, tw (or [1, anchors, 1, 4])
    classes_name: str  # [1, anchors, classes + 1]: background first
    classes_are_logits: bool  # the graph applies a sigmoid between this tensor and the post-process op
    anchors: np.ndarray  # [anchors, 4] float32: ycenter, xcenter, height, width
    y_scale: float
    x_scale: float
    h_scale: float
    w_scale: float
    iou_threshold: float
    score_threshold: float
    max_detections: int

    @classmethod
    def from_graph(cls, graph: TFLiteGraph) -> RawSSDModel:
        op = graph.postprocess()
        boxes, classes, anchors = (graph.tensors[i] for i in op.inputs[:3])
        options = op.custom_options
        if anchors.data is None:
            raise DetectorUnavailable("the post-process anchors are not a constant of the model")
        anchor_values = anchors.data.astype(np.float32)
        if anchors.scale:
            anchor_values = (anchor_values - anchors.zero_point) * np.float32(anchors.scale)
        if options.get("use_regular_nms"):
            raise DetectorUnavailable("models exported with use_regular_nms are not supported")
        producer = next((o for o in graph.operators if classes.index in o.outputs), None)
        logits = producer is not None and producer.kind == "LOGISTIC"
        class_source = graph.tensors[producer.inputs[0]] if producer is not None and logits else classes
        return cls(
            input_name=graph.tensors[graph.inputs[0]].name,
            boxes_name=boxes.name,
            classes_name=class_source.name,
            classes_are_logits=logits,
            anchors=anchor_values.reshape(-1, 4),
            y_scale=float(options.get("y_scale", 10.0)),
            x_scale=float(options.get("x_scale", 10.0)),
            h_scale=float(options.get("h_scale", 5.0)),
            w_scale=float(options.get("w_scale", 5.0)),
            iou_threshold=float(options.get("nms_iou_threshold", 0.6)),
            score_threshold=float(options.get("nms_score_threshold", 0.0)),
            max_detections=int(options.get("max_detections", 10)),
        )

    @classmethod
    def from_file(cls, path: Path) -> RawSSDModel:
        return cls.from_graph(read_graph(path))


class SSDPostProcess:
    """Decode one image's raw SSD tensors into post-process outputs (boxes, classes, scores, count)."""

    def __init__(self, model: RawSSDModel, min_score: float) -> None:
        self.model = model
        # Rows under the detector's min_score are dropped afterwards anyway, and a weaker box
        # never suppresses a stronger one: pruning them before NMS changes nothing.
        self.min_score = max(min_score, model.score_threshold)
        self._anchors = model.anchors
        self._logit_floor = float(np.log(self.min_score / (1.0 - self.min_score))) if 0 < self.min_score < 1 else None

    def __call__(self, boxes: np.ndarray, classes: np.ndarray) -> SSDOutputs:
        m = self.model
        values = classes.reshape(self._anchors.shape[0], -1)[:, 1:]  # drop the background class
        best_class = values.argmax(axis=1)
        best = values[np.arange(values.shape[0]), best_class]
        if m.classes_are_logits:
            # Threshold on logits (sigmoid is monotonic) and take the sigmoid of the few left.
            keep = np.flatnonzero(best >= self._logit_floor) if self._logit_floor is not None else np.arange(best.size)
            scores = 1.0 / (1.0 + np.exp(-best[keep].astype(np.float32)))
        else:
            keep = np.flatnonzero(best >= self.min_score)
            scores = best[keep].astype(np.float32)
        order = np.argsort(-scores, kind="stable")
        keep, scores = keep[order], scores[order]
        decoded = self._decode(boxes.reshape(-1, 4)[keep], self._anchors[keep])
        chosen = _greedy_nms(decoded, m.iou_threshold, m.max_detections)
        n = len(chosen)
        out_boxes = np.zeros((1, m.max_detections, 4), np.float32)
        out_classes = np.zeros((1, m.max_detections), np.float32)
        out_scores = np.zeros((1, m.max_detections), np.float32)
        out_boxes[0, :n] = decoded[chosen]
        out_classes[0, :n] = best_class[keep[chosen]]
        out_scores[0, :n] = scores[chosen]
        return SSDOutputs(out_boxes, out_classes, out_scores, np.array([n], np.float32))

    def _decode(self, encodings: np.ndarray, anchors: np.ndarray) -> np.ndarray:
        """Box encodings (ty, tx, th, tw) against anchors (yc, xc, h, w) → ymin, xmin, ymax, xmax."""
        m = self.model
        enc = encodings.astype(np.float32)
        yc = enc[:, 0] / m.y_scale * anchors[:, 2] + anchors[:, 0]
        xc = enc[:, 1] / m.x_scale * anchors[:, 3] + anchors[:, 1]
        half_h = 0.5 * np.exp(enc[:, 2] / m.h_scale) * anchors[:, 2]
        half_w = 0.5 * np.exp(enc[:, 3] / m.w_scale) * anchors[:, 3]
        return np.stack([yc - half_h, xc - half_w, yc + half_h, xc + half_w], axis=1)


def _greedy_nms(boxes: np.ndarray, iou_threshold: float, limit: int) -> list[int]:
    """Indexes of ``boxes`` (sorted best first) kept by greedy NMS, at most ``limit``."""
    if boxes.shape[0] == 0:
        return []
    areas = np.maximum(boxes[:, 2] - boxes[:, 0], 0) * np.maximum(boxes[:, 3] - boxes[:, 1], 0)
    alive = np.ones(boxes.shape[0], dtype=bool)
    chosen: list[int] = []
    for i in range(boxes.shape[0]):
        if not alive[i]:
            continue
        chosen.append(i)
        if len(chosen) == limit:
            break
        rest = np.flatnonzero(alive[i + 1 :]) + i + 1
        if rest.size == 0:
            break
        ymin = np.maximum(boxes[i, 0], boxes[rest, 0])
        xmin = np.maximum(boxes[i, 1], boxes[rest, 1])
        ymax = np.minimum(boxes[i, 2], boxes[rest, 2])
        xmax = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.maximum(ymax - ymin, 0) * np.maximum(xmax - xmin, 0)
        union = areas[i] + areas[rest] - inter
        overlap = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        alive[rest[overlap > iou_threshold]] = False
    return chosen


class RawSSDDetector(SSDDetector):
    """A runtime serving the model up to its raw tensors; the post-process runs here, in numpy.

    A backend supplies ``_run``: a ``(batch, height, width, 3)`` input in the model's
    dtype → the raw box and class arrays, batch first.
    """

    def __init__(self, spec: ModelSpec, raw: RawSSDModel, *, min_score: float = DEFAULT_MIN_SCORE) -> None:
        super().__init__(spec, min_score=min_score)
        self.raw = raw
        self.post_process = SSDPostProcess(raw, min_score)
        self._pending: np.ndarray | None = None

    def _set_input(self, tensor: np.ndarray) -> None:
        self._pending = tensor[np.newaxis]

    def _invoke(self) -> SSDOutputs:
        assert self._pending is not None, "_set_input first"
        boxes, classes = self._run(self._pending)
        return self.post_process(boxes[0], classes[0])

    def detect_batch(self, tensors: np.ndarray) -> list[np.ndarray]:
        """``detect_raw`` of each ``(height, width, 3)`` uint8 image of a batch, in one inference."""
        if tensors.ndim != 4 or tensors.shape[1:] != self.spec.input_shape or tensors.dtype != np.uint8:
            raise ValueError(f"batch must be (n, *{self.spec.input_shape}) uint8, got {tensors.shape} {tensors.dtype}")
        if self._float_input is not None:
            tensors = (tensors.astype(np.float32) - self.spec.input_mean) / self.spec.input_std
        boxes, classes = self._run(tensors)
        outputs = [self.post_process(b, c) for b, c in zip(boxes, classes, strict=True)]
        return [ssd_rows(out, self.min_score, self.max_rows) for out in outputs]

    @abstractmethod
    def _run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw (boxes, classes) for a batch in the model's input dtype."""
