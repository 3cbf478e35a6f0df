"""``voice-assistant download-model``: fetch, verify and install a Vosk model, safely.

The only network access the assistant ever makes, and only when asked:
resumable download to ``NAME.zip.part``, size and SHA-256 check, extraction
into a temporary folder that refuses entries escaping it, then an atomic
rename into place. A cut download resumes next time; a bad one is deleted.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from voice_assistant.errors import DownloadError
from voice_assistant.installed import file_sha256
from voice_assistant.stt.selection import looks_like_vosk_model

log = logging.getLogger(__name__)

BASE_URL = "https://alphacephei.com/vosk/models"


@dataclass(frozen=True)
class ModelArchive:
    """A downloadable model and what it must look like."""

    name: str
    url: str
    size: int
    sha256: str


KNOWN_MODELS = {
    "vosk-model-small-en-us-0.15": ModelArchive(
        "vosk-model-small-en-us-0.15", f"{BASE_URL}/vosk-model-small-en-us-0.15.zip", 41_205_931,
        "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498"),
}


def download_model(archive: ModelArchive, dest_dir: Path, progress: bool = True, timeout: float = 30.0) -> Path:
    """Download, verify and install ``archive`` into ``dest_dir/<name>``; return that folder."""
    target = dest_dir / archive.name
    if looks_like_vosk_model(target):
        log.info("%s is already installed at %s", archive.name, target)
        return target
    if target.exists():
        raise DownloadError(f"{target} exists but is not a complete Vosk model",
                            "remove that folder and run the command again")
    dest_dir.mkdir(parents=True, exist_ok=True)
    part = dest_dir / f"{archive.name}.zip.part"
    _fetch(archive, part, progress, timeout)
    _verify(archive, part)
    try:
        _install(part, target, archive.name)
    finally:
        # Verified but unusable (or installed): either way the archive is not needed again.
        part.unlink(missing_ok=True)
    return target


def _fetch(archive: ModelArchive, part: Path, progress: bool, timeout: float) -> None:
    have = part.stat().st_size if part.exists() else 0
    if have > archive.size:
        part.unlink()
        have = 0
    if have == archive.size:
        return
    request = urllib.request.Request(archive.url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - fixed https URL
            if have and response.status != 206:
                log.info("server ignored the resume request; starting over")
                have = 0
            mode = "ab" if have else "wb"
            with part.open(mode) as out, tqdm(total=archive.size, initial=have, unit="B", unit_scale=True,
                                              desc=archive.name, disable=not progress) as bar:
                while True:
                    block = response.read(1 << 16)
                    if not block:
                        break
                    out.write(block)
                    bar.update(len(block))
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"the model server answered {exc.code} for {archive.url}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"cannot download {archive.name}: {reason}",
                            f"check the internet connection and run the command again (it resumes), or "
                            f"download {archive.url} elsewhere and unpack it into models/") from None


def _verify(archive: ModelArchive, part: Path) -> None:
    size = part.stat().st_size
    if size != archive.size:
        raise DownloadError(f"download incomplete: {size:,} of {archive.size:,} bytes",
                            "run the command again to resume")
    if file_sha256(part) != archive.sha256:
        part.unlink()
        raise DownloadError(f"checksum mismatch for {archive.name}: the file was damaged or replaced",
                            "the partial file was deleted; run the command again")


def _install(zip_path: Path, target: Path, name: str) -> None:
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=target.parent))
    try:
        try:
            with zipfile.ZipFile(zip_path) as archive:
                root = staging.resolve()
                for member in archive.infolist():
                    destination = (staging / member.filename).resolve()
                    if not destination.is_relative_to(root) or member.filename.startswith(("/", "\\")):
                        raise DownloadError(f"refusing archive entry outside the model folder: {member.filename}")
                archive.extractall(staging)
        except zipfile.BadZipFile as exc:
            zip_path.unlink(missing_ok=True)
            raise DownloadError(f"the downloaded file is not a valid zip ({exc})", "run the command again") from None
        inner = staging / name if (staging / name).is_dir() else staging
        if not looks_like_vosk_model(inner):
            raise DownloadError(f"the archive does not contain a Vosk model named {name}")
        os.replace(inner, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
