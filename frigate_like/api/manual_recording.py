"""The seed's record start/stop: every active camera into a named recording folder."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from flask import Response, jsonify
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BeforeValidator, ConfigDict, Field

from frigate_like.api.access import changes_state
from frigate_like.api.openapi import errors
from frigate_like.api.openapi_models import Done
from frigate_like.api.params import BodyPath, BodyProblem, JsonBody, invalid
from frigate_like.api.service import ApiServices, required

if TYPE_CHECKING:  # types only: the API never builds these
    from frigate_like.record.manual import ManualRecorder

NO_MICROPHONE = -1


def _empty_is_absent(value: object) -> object:
    return None if value == "" else value


def _strict_int(value: object) -> object:
    if value is None:
        return NO_MICROPHONE
    if isinstance(value, bool) or not isinstance(value, int):
        invalid("integer", "must be an integer, got {raw}", value)
    return value


class RecordStart(JsonBody):
    """Every field is optional, so no body at all is an empty object."""

    model_config = ConfigDict(openapi_extra={"required": False})  # type: ignore[typeddict-unknown-key]

    recording_name: Annotated[BodyPath | None, BeforeValidator(_empty_is_absent)] = Field(
        None, examples=["2024-09-15T14_30_00"]
    )
    recording_directory: Annotated[BodyPath | None, BeforeValidator(_empty_is_absent)] = Field(
        None, examples=["~/skellycam_data/recordings"]
    )
    mic_device_index: Annotated[int, BeforeValidator(_strict_int)] = Field(NO_MICROPHONE, examples=[-1])

    @classmethod
    def without_object(cls, problem: BodyProblem) -> dict[str, Any]:
        return {} if problem == "absent" else super().without_object(problem)


def manual_recording_blueprint(services: ApiServices) -> APIBlueprint:
    bp = APIBlueprint("manual_recording", __name__, abp_tags=[Tag(name="recording")])

    def recorder() -> ManualRecorder:
        return required(services.manual, "manual recording")

    @bp.post("/skellycam/camera/group/all/record/start", responses={200: Done, **errors(400, 409, 503)})
    def start(body: RecordStart) -> Response:
        """Start a manual recording of every active camera"""
        recorder().start(
            recording_name=body.recording_name,
            recording_directory=body.recording_directory,
            mic_device_index=body.mic_device_index,
        )
        return jsonify(True)

    @bp.get("/skellycam/camera/group/all/record/stop", responses={200: Done, **errors(409, 503)})
    @changes_state
    def stop() -> Response:
        """Stop the manual recording: files finished, timestamps and statistics written"""
        recorder().stop()
        return jsonify(True)

    return bp
