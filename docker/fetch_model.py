"""Puts the COCO SSD MobileNet v1 detector into the image, checked against pinned sha256 sums.

Used by the Dockerfile only (standard library, no project imports). The model comes from
``--cache/detect.tflite`` when present (offline builds), else from TensorFlow's public zip,
whose own sha256 is checked before anything is extracted. The model's sha256 is checked in
both cases; any mismatch fails the build.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import urllib.request
import zipfile
from pathlib import Path

MEMBER = "detect.tflite"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def checked(data: bytes, expected: str, what: str) -> bytes:
    actual = sha256(data)
    if actual != expected:
        sys.exit(f"fetch_model: {what} has sha256 {actual}, expected {expected}")
    return data


def model_bytes(args: argparse.Namespace) -> bytes:
    cached = args.cache / MEMBER
    if cached.is_file():
        print(f"fetch_model: using {cached}")
        return cached.read_bytes()
    print(f"fetch_model: downloading {args.url}")
    try:
        with urllib.request.urlopen(args.url, timeout=120) as response:
            archive = checked(response.read(), args.zip_sha256, args.url)
    except OSError as exc:
        sys.exit(f"fetch_model: cannot download {args.url}: {exc} (offline? put {MEMBER} into {args.cache})")
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        return zipped.read(MEMBER)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="the public zip holding detect.tflite")
    parser.add_argument("--zip-sha256", required=True)
    parser.add_argument("--sha256", required=True, help="of detect.tflite itself")
    parser.add_argument("--cache", type=Path, required=True, help="folder that may hold detect.tflite")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.write_bytes(checked(model_bytes(args), args.sha256, MEMBER))
    print(f"fetch_model: {args.out} sha256 {args.sha256} OK")


if __name__ == "__main__":
    main()
