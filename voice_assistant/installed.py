"""Files that installed packages ship (model weights, voices): found without importing the package,
and checked against a published checksum."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path


def package_folder(module: str) -> Path | None:
    """The folder of an installed package, found without importing it (an import can print or pull
    in heavy dependencies); None when it is not installed."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


__all__ = ["file_sha256", "package_folder"]
