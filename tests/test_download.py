"""download-model against a local HTTP server: resume, checksum, zip safety, offline errors."""

from __future__ import annotations

import hashlib
import io
import socket
import subprocess
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from voice_assistant.errors import DownloadError
from voice_assistant.stt.download import ModelArchive, download_model
from voice_assistant.stt.selection import looks_like_vosk_model

NAME = "tiny-model"
MODEL_FILES = {"am/final.mdl": b"acoustic model " * 400, "conf/mfcc.conf": b"--sample-frequency=16000\n",
               "graph/HCLG.fst": bytes(range(256)) * 40}


class RangeHandler(BaseHTTPRequestHandler):
    """Serves files from ``server.root``; honours ``Range: bytes=N-``; records each request's Range header."""

    def do_GET(self):  # noqa: N802 - http.server API
        self.server.ranges.append(self.headers.get("Range"))
        path = self.server.root / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        spec = self.headers.get("Range") if self.server.honour_range else None
        if spec and spec.startswith("bytes=") and spec.endswith("-"):
            start = int(spec[len("bytes="):-1])
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        if self.server.cut_at is not None:  # announce the whole body, send part of it, hang up
            self.wfile.write(data[start:self.server.cut_at])
            self.close_connection = True
            return
        self.wfile.write(data[start:])

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    httpd.root, httpd.ranges, httpd.honour_range, httpd.cut_at = root, [], True, None
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def make_zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def good_zip() -> bytes:
    return make_zip({f"{NAME}/{path}": data for path, data in MODEL_FILES.items()})


def publish(server, data: bytes, filename: str = "tiny.zip", sha256: str | None = None) -> ModelArchive:
    (server.root / filename).write_bytes(data)
    return ModelArchive(NAME, f"{server.url}/{filename}", len(data), sha256 or hashlib.sha256(data).hexdigest())


def leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir() if p.name.endswith(".part") or p.name.startswith(f".{NAME}."))


def test_downloads_verifies_and_installs(server, tmp_path):
    dest = tmp_path / "models"
    archive = publish(server, good_zip())
    target = download_model(archive, dest, progress=False, timeout=5)
    assert target == dest / NAME
    assert looks_like_vosk_model(target)
    for path, data in MODEL_FILES.items():
        assert (target / path).read_bytes() == data
    assert leftovers(dest) == []
    assert server.ranges == [None]
    # Installed already: a second call returns at once, without asking the server.
    assert download_model(archive, dest, progress=False, timeout=5) == target
    assert len(server.ranges) == 1


def test_checksum_mismatch_deletes_part_and_installs_nothing(server, tmp_path):
    dest = tmp_path / "models"
    archive = publish(server, good_zip(), sha256="0" * 64)
    with pytest.raises(DownloadError, match="checksum mismatch") as err:
        download_model(archive, dest, progress=False, timeout=5)
    assert err.value.hint
    assert not (dest / NAME).exists()
    assert leftovers(dest) == []
    assert not (dest / f"{NAME}.zip.part").exists()


@pytest.mark.parametrize("how", ["connection cut", "short file"])
def test_cut_download_fails_then_resumes_with_range(server, tmp_path, how):
    dest = tmp_path / "models"
    full = good_zip()
    half = len(full) // 2
    archive = ModelArchive(NAME, f"{server.url}/tiny.zip", len(full), hashlib.sha256(full).hexdigest())
    if how == "connection cut":
        (server.root / "tiny.zip").write_bytes(full)
        server.cut_at = half
    else:
        (server.root / "tiny.zip").write_bytes(full[:half])  # the server only has part of it for now
    with pytest.raises(DownloadError, match="incomplete") as err:
        download_model(archive, dest, progress=False, timeout=5)
    assert "again" in err.value.hint
    part = dest / f"{NAME}.zip.part"
    assert part.read_bytes() == full[:half]
    assert not (dest / NAME).exists()

    (server.root / "tiny.zip").write_bytes(full)
    server.cut_at = None
    target = download_model(archive, dest, progress=False, timeout=5)
    assert server.ranges[-1] == f"bytes={half}-"
    assert looks_like_vosk_model(target)
    assert (target / "graph" / "HCLG.fst").read_bytes() == MODEL_FILES["graph/HCLG.fst"]
    assert leftovers(dest) == []


def test_server_ignoring_range_restarts_from_scratch(server, tmp_path):
    dest = tmp_path / "models"
    dest.mkdir()
    archive = publish(server, good_zip())
    (dest / f"{NAME}.zip.part").write_bytes(b"stale bytes")
    server.honour_range = False
    target = download_model(archive, dest, progress=False, timeout=5)
    assert server.ranges == ["bytes=11-"]
    assert looks_like_vosk_model(target)
    assert leftovers(dest) == []


@pytest.mark.parametrize("evil", ["../evil.txt", f"{NAME}/../../evil.txt"])
def test_entry_escaping_the_folder_is_refused(server, tmp_path, evil):
    dest = tmp_path / "area" / "models"
    entries = {f"{NAME}/{path}": data for path, data in MODEL_FILES.items()}
    entries[evil] = b"pwned"
    archive = publish(server, make_zip(entries))
    with pytest.raises(DownloadError, match="outside"):
        download_model(archive, dest, progress=False, timeout=5)
    assert not (dest / NAME).exists()
    assert [p for p in tmp_path.rglob("evil.txt")] == []
    assert not [p for p in dest.iterdir() if p.name.startswith(f".{NAME}.")]


def test_not_a_zip_is_refused_and_deleted(server, tmp_path):
    dest = tmp_path / "models"
    archive = publish(server, b"<html>404 but with status 200</html>" * 20)
    with pytest.raises(DownloadError, match="not a valid zip"):
        download_model(archive, dest, progress=False, timeout=5)
    assert not (dest / NAME).exists()
    assert leftovers(dest) == []


def test_zip_without_a_model_is_refused(server, tmp_path):
    dest = tmp_path / "models"
    archive = publish(server, make_zip({f"{NAME}/README": b"hello"}))
    with pytest.raises(DownloadError, match="does not contain a Vosk model"):
        download_model(archive, dest, progress=False, timeout=5)
    assert not (dest / NAME).exists()
    assert not [p for p in dest.iterdir() if p.name.startswith(f".{NAME}.")]


def test_http_error_status(server, tmp_path):
    archive = ModelArchive(NAME, f"{server.url}/missing.zip", 10, "0" * 64)
    with pytest.raises(DownloadError, match="404"):
        download_model(archive, tmp_path / "models", progress=False, timeout=5)


def test_offline_error_says_what_to_do(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens there
    archive = ModelArchive(NAME, f"http://127.0.0.1:{port}/tiny.zip", 100, "0" * 64)
    with pytest.raises(DownloadError) as err:
        download_model(archive, tmp_path / "models", progress=False, timeout=5)
    assert "run the command again" in err.value.hint
    assert "elsewhere" in err.value.hint and archive.url in err.value.hint
    assert not (tmp_path / "models" / NAME).exists()


def test_existing_incomplete_folder_is_not_overwritten(server, tmp_path):
    dest = tmp_path / "models"
    (dest / NAME).mkdir(parents=True)
    (dest / NAME / "mine.txt").write_text("keep")
    with pytest.raises(DownloadError, match="not a complete Vosk model"):
        download_model(publish(server, good_zip()), dest, progress=False, timeout=5)
    assert (dest / NAME / "mine.txt").read_text() == "keep"
    assert server.ranges == []


def test_cli_download_model_help():
    root = Path(__file__).resolve().parent.parent
    top = subprocess.run([sys.executable, "-m", "voice_assistant", "--help"], cwd=root,
                         capture_output=True, text=True, timeout=60)
    assert "download-model" in top.stdout, top.stdout
    result = subprocess.run([sys.executable, "-m", "voice_assistant", "download-model", "--help"], cwd=root,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "download-model" in result.stdout


def test_ctrl_c_while_downloading_keeps_a_resumable_part(server, tmp_path, monkeypatch):
    import os

    files = {f"{NAME}/{path}": content for path, content in MODEL_FILES.items()}
    data = make_zip({**files, f"{NAME}/am/big.bin": os.urandom(300_000)})  # several 64 KB blocks
    archive = publish(server, data)
    dest = tmp_path / "models"
    import voice_assistant.stt.download as download

    real_tqdm = download.tqdm

    class InterruptingBar(real_tqdm):
        def update(self, n=1):
            super().update(n)
            raise KeyboardInterrupt  # the user presses Ctrl-C after the first block

    monkeypatch.setattr(download, "tqdm", InterruptingBar)
    with pytest.raises(KeyboardInterrupt):
        download_model(archive, dest, progress=False, timeout=5)
    part = dest / f"{archive.name}.zip.part"
    assert 0 < part.stat().st_size < len(data)
    assert not (dest / archive.name).exists()
    monkeypatch.setattr(download, "tqdm", real_tqdm)
    installed = download_model(archive, dest, progress=False, timeout=5)
    assert looks_like_vosk_model(installed) and not part.exists()
