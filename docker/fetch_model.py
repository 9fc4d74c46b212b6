"""Puts one model file into the image, checked against a pinned sha256.

Used by the Dockerfile only (standard library, no project imports). The file comes from
``--cache/<name>`` when present (offline builds), else from ``--url``: a plain file, or with
``--member`` a zip whose own sha256 (``--zip-sha256``) is checked before anything is
extracted. ``<name>`` is the member's name, else the URL's last path segment. The file's
sha256 is checked in every case; any mismatch fails the build.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def checked(data: bytes, expected: str, what: str) -> bytes:
    actual = sha256(data)
    if actual != expected:
        sys.exit(f"fetch_model: {what} has sha256 {actual}, expected {expected}")
    return data


def cache_name(args: argparse.Namespace) -> str:
    """The file's name in the cache: the zip member's, else the URL's last path segment."""
    return args.member or PurePosixPath(urlsplit(args.url).path).name


def download(url: str, cached: Path) -> bytes:
    print(f"fetch_model: downloading {url}")
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            return bytes(response.read())
    except OSError as exc:
        sys.exit(f"fetch_model: cannot download {url}: {exc} (offline? put {cached.name} into {cached.parent})")


def model_bytes(args: argparse.Namespace) -> bytes:
    cached = args.cache / cache_name(args)
    if cached.is_file():
        print(f"fetch_model: using {cached}")
        return cached.read_bytes()
    data = download(args.url, cached)
    if args.member is None:
        return data
    with zipfile.ZipFile(io.BytesIO(checked(data, args.zip_sha256, args.url))) as zipped:
        return zipped.read(args.member)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="the model file, or the zip holding it (with --member)")
    parser.add_argument("--member", help="the model's name inside the zip at --url")
    parser.add_argument("--zip-sha256", help="of the zip (required with --member)")
    parser.add_argument("--sha256", required=True, help="of the model file itself")
    parser.add_argument("--cache", type=Path, required=True, help="folder that may hold the model file")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.member is not None and args.zip_sha256 is None:
        parser.error("--member needs --zip-sha256")
    args.out.write_bytes(checked(model_bytes(args), args.sha256, cache_name(args)))
    print(f"fetch_model: {args.out} sha256 {args.sha256} OK")


if __name__ == "__main__":
    main()
