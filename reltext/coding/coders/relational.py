"""The relational model: reltext's default coder, trained on 9,000 coded counselling turns.

Each turn is read by :class:`~reltext.coding.coders.reader.TurnReader` (a transformer encoder, in
the context of the two turns before it). Several classifiers (:mod:`reltext.coding.coders.heads`)
score every code from that reading; the model averages their scores, a Platt sigmoid fitted
out of fold maps the average to how often the code applies (a confidence of 0.3 means about 3
turns in 10), and the code is given where that probability reaches the code's threshold,
chosen out of fold. Its span is the sentence the attention heads looked at most for that
code, and its evidence names that sentence and the training turn most like it.

The weights live in the package (``reltext/data/relational/``: ``model.npz`` and
``manifest.json``, which records the training data and its hash, the settings, the
cross-validated scores and the library versions); nothing is fetched. ``reltext train
--base`` re-trains them from a corpus; ``reltext train`` adapts them to a project
(:mod:`reltext.learning.adaptation`), as a :class:`Correction` on top.

Example:
    >>> model = RelationalModel.load()
    >>> model.coder_id
    'model:relational@1.0'
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import ReltextError
from .heads import AttentionHead, LinearHead, pooled_features, unit
from .reader import Reading, TurnReader, TurnText, role_label

if TYPE_CHECKING:
    from ...store.database import Store

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "data" / "relational"
NAME = "relational"
#: Training turns kept per code as evidence to cite.
EXAMPLES_PER_CODE = 200


# The kind of model row a project's adaptation of the relational model is stored as.
ADAPTATION_KIND = "relational"


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


@dataclass(slots=True)
class Examples:
    """Training turns the model cites as evidence: per code, unit vectors and short labels."""

    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    labels: dict[str, list[str]] = field(default_factory=dict)

    def nearest(self, code: str, vector: np.ndarray) -> str | None:
        if code not in self.vectors or not len(self.vectors[code]):
            return None
        scores = self.vectors[code].astype(np.float32) @ unit(vector[None, :])[0]
        return self.labels[code][int(np.argmax(scores))]


@dataclass(slots=True)
class Correction:
    """A project's adaptation: ``scale * z + shift + delta @ x`` on the calibrated log-odds
    ``z``, with ``x`` the pooled features at the model's first layer."""

    model_id: str
    scale: np.ndarray
    shift: np.ndarray
    delta: np.ndarray


@dataclass(slots=True)
class Scored:
    """A batch of turns as the model saw them: what coding, caching and adapting need."""

    raw: np.ndarray  # (turns, codes): the heads' mean score
    pooled: np.ndarray  # (turns, features): pooled features at the first layer
    sentences: list[list[tuple[int, int]]]  # per turn, its sentences' offsets
    focus: list[np.ndarray]  # per turn, (sentences, codes): attention on each sentence
    sentence_vectors: list[np.ndarray]  # per turn, (sentences, dimensions)


@dataclass(slots=True)
class RelationalModel:
    """The heads, their calibration and thresholds, and (adapted) a project's correction.

    Attributes:
        codes: The codebook keys, in column order.
        heads: The classifiers whose scores are averaged.
        calibration: ``(codes, 2)`` Platt slope and intercept on the averaged score.
        thresholds: The calibrated probability from which each code is given.
        reader: The reader's settings (``encoder``, ``layers``, ``turn_tokens``,
            ``context_tokens``).
        version: The model's version, part of its coder id.
        manifest: What it was trained on and how well it did.
        correction: A project's adaptation, or None for the model as shipped.
    """

    codes: list[str]
    heads: list[Any]
    calibration: np.ndarray
    thresholds: np.ndarray
    reader: dict[str, Any]
    version: str = "1.0"
    manifest: dict[str, Any] = field(default_factory=dict)
    examples: Examples = field(default_factory=Examples)
    correction: Correction | None = None

    def adapted(self, correction: Correction, manifest: dict[str, Any]) -> RelationalModel:
        """This model with a project's correction (``reltext train``) applied."""
        return dataclasses.replace(self, correction=correction,
                                   manifest={**self.manifest, "adaptation": manifest})

    @property
    def coder_id(self) -> str:
        if self.correction is not None:
            return f"learned:{self.correction.model_id}"
        return f"model:{NAME}@{self.version}"

    @property
    def layer(self) -> int:
        """The layer whose pooled states carry the evidence and the adaptation."""
        return int(self.reader["layers"][0])

    @property
    def cache_name(self) -> str:
        """The name its scores are cached under: version and a digest of the weights."""
        return f"{NAME}@{self.version}-{self.manifest.get('digest', 'unsaved')[:12]}"

    def make_reader(self) -> TurnReader:
        return TurnReader.load(self.reader["encoder"], tuple(self.reader["layers"]))

    # -- scores ------------------------------------------------------------------------

    def score(self, readings: Sequence[Reading], items: Sequence[TurnText]) -> Scored:
        """What the heads make of a batch of read turns."""
        worker = np.array([item.role == "Therapist" for item in items], np.float32)
        parts, attention = [], []
        for head in self.heads:
            if isinstance(head, AttentionHead):
                scores, weights = head.scores(readings)
                attention.append(weights)
            else:
                scores = head.scores(readings, worker)
            parts.append(scores)
        raw = np.mean(parts, axis=0)
        focus, vectors = [], []
        for row, reading in enumerate(readings):
            marks = reading.sentence_of
            tokens = reading.tokens[self.layer]
            n = len(reading.sentences)
            mass = np.zeros((n, len(self.codes)), np.float32)
            for weights in attention:
                for k in range(n):
                    mass[k] += weights[row][marks == k].sum(0)
            focus.append(mass / max(len(attention), 1))
            vectors.append(np.stack([tokens[marks == k].mean(0) if (marks == k).any()
                                     else reading.mean(self.layer) for k in range(n)]))
        pooled = pooled_features(np.stack([r.mean(self.layer) for r in readings]),
                                 np.stack([r.context[self.layer] for r in readings]), worker)
        return Scored(raw, pooled, [r.sentences for r in readings], focus, vectors)

    def probabilities(self, raw: np.ndarray, pooled: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from the heads' mean scores (and the pooled features, for
        an adapted model), ``(turns, codes)``."""
        z = raw * self.calibration[:, 0] + self.calibration[:, 1]
        if self.correction is not None:
            c = self.correction
            z = z * c.scale + c.shift + pooled @ c.delta.T
        return sigmoid(z)

    def codings(self, scored: Scored, texts: Sequence[str] | None = None
                ) -> list[list[dict[str, Any]]]:
        """Per turn, its codes: dicts of ``code, start_char, end_char, confidence, evidence``.

        The span is the sentence with the most of the code's attention (the whole turn when
        it has one sentence).
        """
        probabilities = self.probabilities(scored.raw, scored.pooled)
        result = []
        for row in range(len(probabilities)):
            found = []
            sentences = scored.sentences[row]
            for column in np.flatnonzero(probabilities[row] >= self.thresholds):
                code = self.codes[column]
                best = int(np.argmax(scored.focus[row][:, column])) if len(sentences) else 0
                start, end = sentences[best]
                p = float(probabilities[row, column])
                if len(sentences) > 1:
                    share = scored.focus[row][best, column]
                    evidence = (f"sentence {best + 1} of {len(sentences)} "
                                f"({share:.0%} of the attention), p={p:.2f}")
                else:
                    evidence = f"the turn, p={p:.2f}"
                like = (self.examples.nearest(code, scored.sentence_vectors[row][best])
                        if len(scored.sentence_vectors[row]) else None)
                if like:
                    evidence += f"; like {like}"
                found.append({"code": code, "start_char": int(start), "end_char": int(end),
                              "confidence": round(p, 4), "evidence": evidence})
            result.append(found)
        return result

    # -- files -------------------------------------------------------------------------

    def save(self, folder: str | Path) -> Path:
        """Write ``model.npz`` and ``manifest.json`` into ``folder``."""
        from ...files import write_text

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {"calibration": self.calibration,
                                         "thresholds": self.thresholds}
        described = []
        for index, head in enumerate(self.heads):
            if isinstance(head, AttentionHead):
                described.append({"kind": "attention", "layer": head.layer})
                for name, value in head.parameters.items():
                    arrays[f"head{index}.{name}"] = np.asarray(value, np.float16)
            else:
                described.append({"kind": "linear", "layer": head.layer})
                arrays[f"head{index}.weights"] = head.weights.astype(np.float16)
                arrays[f"head{index}.bias"] = head.bias
        for index, code in enumerate(self.codes):
            if code in self.examples.vectors:
                arrays[f"examples.{index}"] = self.examples.vectors[code].astype(np.float16)
        temporary = folder / "model.npz.partial"
        with open(temporary, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        digest = hashlib.sha256(temporary.read_bytes()).hexdigest()
        temporary.replace(folder / "model.npz")
        self.manifest = {**self.manifest, "name": NAME, "version": self.version,
                         "codes": self.codes, "reader": self.reader, "heads": described,
                         "digest": digest,
                         "examples": {c: self.examples.labels.get(c, []) for c in self.codes}}
        write_text(folder / "manifest.json", json.dumps(self.manifest, indent=1,
                                                        ensure_ascii=False))
        return folder

    @classmethod
    def load(cls, folder: str | Path | None = None) -> RelationalModel:
        """The model in ``folder``; the one shipped with reltext when None.

        Raises:
            ReltextError: the folder holds no model, or a damaged one.
        """
        folder = Path(folder) if folder is not None else DEFAULT_FOLDER
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            with np.load(folder / "model.npz", allow_pickle=False) as stored:
                arrays = {key: stored[key] for key in stored.files}
            heads: list[Any] = []
            for index, spec in enumerate(manifest["heads"]):
                prefix = f"head{index}."
                if spec["kind"] == "attention":
                    heads.append(AttentionHead(spec["layer"], {
                        key[len(prefix):]: value.astype(np.float32)
                        for key, value in arrays.items() if key.startswith(prefix)}))
                else:
                    heads.append(LinearHead(spec["layer"],
                                            arrays[prefix + "weights"].astype(np.float32),
                                            arrays[prefix + "bias"]))
        except (OSError, ValueError, KeyError) as error:
            raise ReltextError(f"no relational model can be read in {folder} ({error})",
                               fix="Reinstall reltext, or re-train it with "
                                   "'reltext train --base'.") from error
        codes = list(manifest["codes"])
        examples = Examples()
        for index, code in enumerate(codes):
            if f"examples.{index}" in arrays:
                examples.vectors[code] = arrays[f"examples.{index}"]
                examples.labels[code] = list(manifest["examples"].get(code, []))
        return cls(codes=codes, heads=heads, calibration=arrays["calibration"],
                   thresholds=arrays["thresholds"], reader=dict(manifest["reader"]),
                   version=str(manifest["version"]), manifest=manifest, examples=examples)


def turn_text(turn: dict[str, Any], context: Sequence[dict[str, Any]]) -> TurnText:
    """A project turn (with its role or speaker) and the turns before it, most recent first."""
    return TurnText(turn["text"], role_label(turn.get("role") or turn.get("speaker") or ""),
                    tuple((role_label(t.get("role") or t.get("speaker") or ""), t["text"])
                          for t in context))


# -- projects ----------------------------------------------------------------------------------

def score_project_turns(store: Any, model: RelationalModel, turns: Sequence[dict[str, Any]],
                        reader: TurnReader | None = None) -> Scored:
    """The model's view of project turns (dicts with ``turn_pk, text, role, speaker``).

    What the heads make of a turn is kept in the project's ``embeddings`` table (its mean
    scores, its pooled features and each sentence's share of the attention), so a turn is read
    by the encoder once per model, however often it is coded again or learned from.
    """
    if not turns:
        return Scored(np.zeros((0, len(model.codes))), np.zeros((0, 0)), [], [], [])
    name = model.cache_name
    keys = [(t["turn_pk"], 0, len(t["text"])) for t in turns]
    with store.read() as conn:
        raw = store.cached_embeddings(conn, f"{name}:scores", keys)
        pooled = store.cached_embeddings(conn, f"{name}:pooled", keys)
        sentences = store.cached_embeddings_of(conn, f"{name}:sentence",
                                               [t["turn_pk"] for t in turns])
    codes = len(model.codes)
    have = [k in raw and k in pooled and k[0] in sentences for k in keys]
    missing = [t for t, ok in zip(turns, have, strict=True) if not ok]
    fresh: dict[int, tuple] = {}
    if missing:
        reader = reader or model.make_reader()
        with store.read() as conn:
            before = store.turns_before(conn, [t["turn_pk"] for t in missing])
        items = [turn_text(t, before[t["turn_pk"]]) for t in missing]
        scored = model.score(reader.read(items), items)
        with store.write() as conn:
            store.add_embeddings(conn, f"{name}:scores", codes, [
                ((t["turn_pk"], 0, len(t["text"])), scored.raw[i].astype(np.float32).tobytes())
                for i, t in enumerate(missing)])
            store.add_embeddings(conn, f"{name}:pooled", scored.pooled.shape[1], [
                ((t["turn_pk"], 0, len(t["text"])), scored.pooled[i].astype(np.float16).tobytes())
                for i, t in enumerate(missing)])
            store.add_embeddings(conn, f"{name}:sentence", codes + scored.pooled.shape[1] // 2, [
                ((t["turn_pk"], a, b), np.concatenate([
                    scored.focus[i][k], scored.sentence_vectors[i][k]]).astype(np.float16)
                 .tobytes())
                for i, t in enumerate(missing) for k, (a, b) in enumerate(scored.sentences[i])])
        fresh = {t["turn_pk"]: (scored.raw[i], scored.pooled[i], scored.sentences[i],
                                scored.focus[i], scored.sentence_vectors[i])
                 for i, t in enumerate(missing)}
    rows = []
    for turn, key in zip(turns, keys, strict=True):
        if turn["turn_pk"] in fresh:
            rows.append(fresh[turn["turn_pk"]])
            continue
        spans = sorted(sentences[key[0]])
        stacked = np.stack([np.frombuffer(sentences[key[0]][span], np.float16)
                            for span in spans]).astype(np.float32)
        rows.append((np.frombuffer(raw[key], np.float32),
                     np.frombuffer(pooled[key], np.float16).astype(np.float32),
                     [tuple(span) for span in spans], stacked[:, :codes], stacked[:, codes:]))
    return Scored(np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows]),
                  [r[2] for r in rows], [r[3] for r in rows], [r[4] for r in rows])


def load_adaptation(store: Store, model_id: str | None = None) -> RelationalModel:
    """A saved adaptation (the newest when ``model_id`` is None), as the adapted model.

    Raises:
        ReltextError: none has been made, or its files are missing.
    """
    with store.read() as conn:
        rows = store.list_models(conn, kind=ADAPTATION_KIND)
    if model_id is not None:
        rows = [row for row in rows if row["model_id"] == model_id]
    if not rows:
        raise ReltextError("the relational model has not been adapted to this project",
                           path=store.path, fix="Adapt it with 'reltext train'.")
    row = rows[-1]
    path = store.path.parent / row["path"] / "adaptation.npz"
    if not path.is_file():
        raise ReltextError(f"the files of model {row['model_id']} are missing", path=path,
                           fix="Adapt the model again: reltext train.")
    with np.load(path, allow_pickle=False) as arrays:
        correction = Correction(row["model_id"], arrays["scale"], arrays["shift"],
                                arrays["delta"])
    return RelationalModel.load().adapted(correction, row["manifest"])


class RelationalTurnCoder:
    """Codes a project's turns with the relational model, for batch runs (``code_turns``).

    Built in each worker from picklable arguments. A research interviewer's turns are read as
    the next turn's context and never coded (codebook spec v1.1).

    Args:
        db: The project file.
        adapted: The id of the project's adaptation of the model to code with (coder
            ``learned:<id>``); the model as shipped (``model:relational@<version>``) when None.
    """

    def __init__(self, db: str | Path, *, adapted: str | None = None) -> None:
        from ...store.database import Store

        self.store = Store.open(db, create=False)
        if adapted is None:
            self.model = RelationalModel.load()
        else:
            self.model = load_adaptation(self.store, adapted)
        self.coder_name = self.model.coder_id

    def code_turns(self, turns: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        from ...model import is_interviewer

        wanted = [t for t in turns if not is_interviewer(t.get("role") or t.get("speaker"))]
        scored = score_project_turns(self.store, self.model, wanted)
        codings = []
        for turn, found in zip(wanted, self.model.codings(scored), strict=True):
            codings.extend({"turn_pk": turn["turn_pk"], "origin": "classifier", **coding}
                           for coding in found)
        return codings
