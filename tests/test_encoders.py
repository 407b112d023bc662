"""Encoders come from installed packages, checked against their publisher's hash."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from reltext.coding.encoders import _JoinedParts, _unpack, encoder_folder
from reltext.errors import ReltextError


def split_archive(tmp_path: Path, files: dict[str, bytes], parts: int = 3) -> list[Path]:
    """A zip of ``files`` under ``model/``, cut into ``parts`` pieces as the wheels hold it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(f"model/{name}", data)
        archive.writestr("model/desktop.ini", b"[.ShellClassInfo]")
    blob = buffer.getvalue()
    size = len(blob) // parts + 1
    paths = []
    for number in range(parts):
        path = tmp_path / f"model.zip.{number + 1:03d}"
        path.write_bytes(blob[number * size:(number + 1) * size])
        paths.append(path)
    return paths


FILES = {"config.json": b"{}", "tokenizer.json": b"{}", "model.safetensors": b"w" * 50_000}


def test_joined_parts_read_as_one_file(tmp_path):
    parts = split_archive(tmp_path, FILES)
    joined = _JoinedParts(parts)
    whole = b"".join(p.read_bytes() for p in parts)
    assert joined.read() == whole
    joined.seek(-10, 2)
    assert joined.read(4) == whole[-10:-6] and joined.tell() == len(whole) - 6
    joined.close()


def test_unpacks_the_needed_files_when_the_weights_match(tmp_path):
    parts = split_archive(tmp_path, FILES)
    target = tmp_path / "encoders" / "demo"
    _unpack(parts, target, "demo", hashlib.sha256(FILES["model.safetensors"]).hexdigest())
    assert sorted(p.name for p in target.iterdir()) == sorted(FILES)
    assert (target / "model.safetensors").read_bytes() == FILES["model.safetensors"]


def test_refuses_weights_that_are_not_the_published_ones(tmp_path):
    parts = split_archive(tmp_path, {**FILES, "model.safetensors": b"tampered" * 100})
    target = tmp_path / "encoders" / "demo"
    with pytest.raises(ReltextError, match="not the published ones"):
        _unpack(parts, target, "demo", hashlib.sha256(FILES["model.safetensors"]).hexdigest())
    assert not target.exists()
    assert list((tmp_path / "encoders").iterdir()) == []  # no staging folder left behind


def test_unknown_encoder_is_one_clear_error():
    with pytest.raises(ReltextError, match="unknown encoder 'bert'"):
        encoder_folder("bert")


def test_installed_mpnet_is_the_published_model():
    folder = encoder_folder("all-mpnet-base-v2")
    digest = hashlib.sha256()
    with open(folder / "model.safetensors", "rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    assert digest.hexdigest().startswith("78c0197b6159d926")
