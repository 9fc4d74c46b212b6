"""The ``ffmpeg`` sections: global args, a camera's inputs with their roles, and per-role output args."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator

from frigate_like.config.base import Args, InputArgs, StrictModel, split_args, translate_input_args

Role = Literal["detect", "clips", "record", "rtmp"]
ROLES: tuple[Role, ...] = ("detect", "clips", "record", "rtmp")

DEFAULT_GLOBAL_ARGS = "-hide_banner -loglevel warning"
DEFAULT_INPUT_ARGS = (
    "-avoid_negative_ts make_zero -fflags +genpts+discardcorrupt -rtsp_transport tcp"
    " -stimeout 5000000 -use_wallclock_as_timestamps 1"
)
DEFAULT_OUTPUT_ARGS: dict[str, str] = {
    "detect": "-f rawvideo -pix_fmt yuv420p",
    # Frigate 0.8 had "-c copy -an": recordings without sound. Video is still copied, but audio is
    # kept and encoded to AAC: cameras often send G.711 (pcm_mulaw/alaw), which mp4 cannot hold,
    # and AAC costs little CPU. A camera without audio gets a video-only segment, as before. A
    # config that spells out Frigate 0.8's args (with -an) loads unchanged and records no audio.
    "record": "-f segment -segment_time 60 -segment_format mp4 -reset_timestamps 1 -strftime 1 -c:v copy -c:a aac",
    "clips": "-f segment -segment_time 10 -segment_format mp4 -reset_timestamps 1 -strftime 1 -c copy -an",
    "rtmp": "-c copy -f flv",
}


def _default_output_args() -> dict[str, list[str]]:
    return {role: split_args(args) for role, args in DEFAULT_OUTPUT_ARGS.items()}


def _output_args(value: Any) -> Any:
    """Per-role output args; a key that is not a role is an unknown key."""
    if not isinstance(value, dict):
        return value
    unknown = [k for k in value if k not in ROLES]
    if unknown:
        raise ValueError(f"unknown role {unknown[0]!r} in output_args; roles are {', '.join(ROLES)}")
    return {k: v for k, v in value.items() if v is not None}


OutputArgs = Annotated[dict[str, Args], BeforeValidator(_output_args)]


class FfmpegConfig(StrictModel):
    """Global ``ffmpeg``: args every camera inherits unless it sets its own."""

    global_args: Args = Field(default_factory=lambda: split_args(DEFAULT_GLOBAL_ARGS))
    hwaccel_args: Args = Field(default_factory=list)
    input_args: InputArgs = Field(default_factory=lambda: translate_input_args(DEFAULT_INPUT_ARGS.split()))
    output_args: OutputArgs = Field(default_factory=_default_output_args)

    @field_validator("output_args")
    @classmethod
    def _fill_roles(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        # a global output_args that names one role keeps the defaults of the others
        return {**_default_output_args(), **value}


class CameraInput(StrictModel):
    """One ``cameras.<name>.ffmpeg.inputs`` entry: a stream and what it is used for.

    After loading, the three args lists are resolved (input, then camera, then global).
    """

    path: str = Field(min_length=1)
    roles: list[Role] = Field(min_length=1)
    global_args: Args = Field(default_factory=list)
    hwaccel_args: Args = Field(default_factory=list)
    input_args: InputArgs = Field(default_factory=list)


class CameraFfmpegConfig(StrictModel):
    """``cameras.<name>.ffmpeg``: the inputs plus camera-wide overrides of the global args.

    After loading, ``output_args`` holds all four roles (camera value, else global).
    """

    inputs: list[CameraInput] = Field(min_length=1)
    global_args: Args = Field(default_factory=list)
    hwaccel_args: Args = Field(default_factory=list)
    input_args: InputArgs = Field(default_factory=list)
    output_args: OutputArgs = Field(default_factory=dict)

    def resolved(self, glob: FfmpegConfig) -> CameraFfmpegConfig:
        """This camera's ffmpeg section with every args list filled in: input, then camera, then global."""
        names = ("global_args", "hwaccel_args", "input_args")
        camera = {n: getattr(self if n in self.model_fields_set else glob, n) for n in names}
        inputs = [
            inp.model_copy(update={n: camera[n] for n in names if n not in inp.model_fields_set})
            for inp in self.inputs
        ]
        # output args merge role by role: the camera's roles over the global ones
        output_args = {**glob.output_args, **self.output_args}
        return self.model_copy(update={"inputs": inputs, "output_args": output_args, **camera})
