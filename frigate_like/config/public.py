"""The effective config as a JSON-able dict for ``/api/config`` and ``show-config``, secrets redacted."""

from __future__ import annotations

from typing import Any

from frigate_like.config.frigate import FrigateConfig
from frigate_like.redact import redact_value


def to_public_dict(cfg: FrigateConfig) -> dict[str, Any]:
    """``cfg`` as plain JSON types, through :func:`redact.redact_value` (passwords, tokens, URL credentials)."""
    data: dict[str, Any] = redact_value(cfg.model_dump(mode="json"))
    return data
