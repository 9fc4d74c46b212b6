"""The effective config as a JSON-able dict for ``/api/config``, with every secret masked."""

from __future__ import annotations

from typing import Any

from frigate_like.config.frigate import FrigateConfig
from frigate_like.config.problems import mask_url_passwords

MASK = "*****"
_SECRET_WORDS = ("password", "token", "secret", "credential", "api_key", "apikey")


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (MASK if isinstance(v, str) and isinstance(k, str) and _is_secret(k) else _mask(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask(v) for v in value]
    if isinstance(value, str):
        return mask_url_passwords(value)
    return value


def to_public_dict(cfg: FrigateConfig) -> dict[str, Any]:
    """``cfg`` as plain JSON types; passwords, tokens and credentials in URLs become ``*****``."""
    data: dict[str, Any] = _mask(cfg.model_dump(mode="json"))
    return data
