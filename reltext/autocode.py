"""Coding a project's turns with a codebook, and scoring coders against gold and each other.

A coding run records its codebook in the project, names its coder after the codebook
(``rules:relational@1.0``) and codes only the turns that coder has not coded yet: running
it again codes what is new, and a new codebook version codes everything again beside the
old version's codings.

Example:
    >>> for progress in code_project(store, codebook_path="codebooks/relational.yaml"):
    ...     print(progress.turns_done, progress.turns_total)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import __version__
from .coding.batch import BatchProgress, run_coding
from .coding.codebook import DEFAULT_CODEBOOK, Codebook, codebook_from_bytes, load_codebook, parse_codebook
from .coding.nlp import DEFAULT_PIPELINE
from .errors import ReltextError
from .review.agreement import agreement, evaluate
from .review.gold import read_codings_csv
from .store.database import Store

CODERS = ("rules", "model", "learned", "auto")


@dataclass(frozen=True, slots=True)
class RulesCoderFactory:
    """Builds a rules coder in each worker process.

    It carries the codebook's text rather than its path, so a worker on another machine
    (a Dask cluster) needs the spaCy pipeline but not the codebook file.
    """

    codebook_path: str
    pipeline: str = DEFAULT_PIPELINE
    batch_size: int = 128
    codebook_text: bytes = b""
    # The team's decisions on rules codings, (rule_id, code, right): they refine the
    # measured confidences of the rules (reltext.coding.coders.confidence).
    outcomes: tuple[tuple[str, str, bool], ...] = ()

    @classmethod
    def for_codebook(cls, path: str | Path, pipeline: str = DEFAULT_PIPELINE
                     ) -> RulesCoderFactory:
        path = Path(path).resolve()
        return cls(str(path), pipeline, codebook_text=path.read_bytes())

    def __call__(self) -> Any:
        from .coding.coders.confidence import RuleConfidence
        from .coding.coders.rules import RulesCoder

        codebook = (codebook_from_bytes(self.codebook_text, path=self.codebook_path)
                    if self.codebook_text else load_codebook(self.codebook_path))
        confidences = RuleConfidence.shipped(codebook).with_outcomes(self.outcomes)
        return RulesCoder(codebook, pipeline=self.pipeline, batch_size=self.batch_size,
                          confidences=confidences)


def resolve_codebook(store: Store, path: str | Path | None) -> Codebook:
    """The codebook to code with: ``path``, else the project's latest, else the bundled one."""
    if path is not None:
        return load_codebook(path)
    with store.read() as conn:
        recorded = store.latest_codebook(conn)
    source = Path(recorded["source"]) if recorded is not None and recorded["source"] else None
    if source is not None and source.suffix in (".yaml", ".yml") and source.is_file():
        codebook = load_codebook(source)
        if codebook.sha256 == recorded["content_hash"]:
            return codebook
    return load_codebook(DEFAULT_CODEBOOK)


def code_project(
    store: Store,
    *,
    codebook_path: str | Path | None = None,
    coder: str = "auto",
    pipeline: str = DEFAULT_PIPELINE,
    workers: int = 1,
    batch_size: int = 500,
    engine: str = "local",
    scheduler: str | None = None,
) -> Iterator[BatchProgress]:
    """Code every turn the codebook's coder has not coded yet, yielding after each batch.

    Args:
        store: The project.
        codebook_path: The YAML codebook; the project's latest or the bundled one when None.
        coder: ``rules`` (the codebook's rules), ``model`` (the relational model shipped with
            reltext, coder ``model:relational@<version>``), ``learned`` (the newest model
            trained in the project, coder ``learned:<model_id>``) or ``auto`` (the best
            available: the newest trained model combined with the rules, coder
            ``auto:<model_id>``, once one has been trained; the relational model before).
        pipeline: The spaCy pipeline the rules coder uses.
        workers: Processes coding in parallel (or workers of a local Dask cluster).
        batch_size: Turns per batch and per transaction.
        engine: ``local`` (this machine's processes) or ``dask`` (a Dask cluster).
        scheduler: The Dask scheduler's address; a local cluster when None.

    Raises:
        ReltextError: an unknown coder, or ``learned`` before one was trained.
        CodebookError: the codebook is invalid.
    """
    if coder not in CODERS:
        raise ReltextError(f"unknown coder {coder!r}", fix=f"Use one of: {', '.join(CODERS)}.")
    from .learning.training import LearnedTurnCoder, coder_name, list_models  # scikit-learn: 1 s

    with store.read() as conn:
        newest = (store.list_models(conn) or [None])[-1]
    if coder in ("learned", "auto") and newest is not None and newest["kind"] == "relational":
        # The project's adaptation of the relational model is its newest trained model.
        codebook = resolve_codebook(store, codebook_path)
        yield from _code_with_relational_model(
            store, _run_manifest(codebook, pipeline, workers, batch_size, engine),
            adapted=newest["model_id"], batch_size=batch_size, workers=workers,
            engine=engine, scheduler=scheduler)
        return
    models = list_models(store)
    if coder == "learned" and not models:
        raise ReltextError("no learned coder has been trained in this project",
                           fix="Train one with 'reltext train', or use --coder rules.")
    codebook = resolve_codebook(store, codebook_path)
    content = Path(codebook.path).read_text(encoding="utf-8")
    with store.write() as conn:
        store.add_codebook(
            conn, name=codebook.name, version=codebook.version, content_hash=codebook.sha256,
            source=codebook.path, content=content,
            codes=[{"key": c.key, "name": c.name, "parent": c.parent, "family": c.family,
                    "polarity": c.polarity, "colour": c.colour, "definition": c.definition}
                   for c in codebook.codes])
    manifest = _run_manifest(codebook, pipeline, workers, batch_size, engine)
    if coder == "model" or (coder == "auto" and not models):
        yield from _code_with_relational_model(store, manifest, batch_size=batch_size,
                                               workers=workers, engine=engine,
                                               scheduler=scheduler)
        return
    if coder in ("learned", "auto") and models:
        # The newest model codes; "auto" combines it with the rules code by code.
        model_id = models[-1]["model_id"]
        combine = coder == "auto"
        factory = functools.partial(LearnedTurnCoder, str(store.path), model_id=model_id,
                                    combine=combine,
                                    codebook=str(Path(codebook.path).resolve()))
        manifest = {**manifest, "coder_kind": coder, "model_id": model_id}
        yield from run_coding(store, factory, coder_id=coder_name(model_id, combine=combine),
                              manifest=manifest, batch_size=batch_size, workers=workers,
                              engine=engine, scheduler=scheduler)
        return
    from .coding.coders.confidence import decision_outcomes

    outcomes = tuple(decision_outcomes(store))
    factory = replace(RulesCoderFactory.for_codebook(codebook.path, pipeline), outcomes=outcomes)
    manifest["confidence"] = {"measured": "reltext/data/rule_precision.json",
                              "decisions": len(outcomes)}
    yield from run_coding(store, factory, coder_id=codebook.coder_id, manifest=manifest,
                          batch_size=batch_size, workers=workers, engine=engine,
                          scheduler=scheduler)


def _run_manifest(codebook: Codebook, pipeline: str, workers: int, batch_size: int,
                  engine: str) -> dict[str, Any]:
    """What every coding run records: codebook, pipeline, versions and parameters."""
    import spacy

    from .coding.coders.rules import UNUSED_COMPONENTS

    return {
        "coder_kind": "rules",
        "codebook": {"name": codebook.name, "version": codebook.version,
                     "sha256": codebook.sha256, "path": str(Path(codebook.path).resolve())},
        "pipeline": {"name": pipeline, "version": _package_version(pipeline),
                     "spacy": spacy.__version__, "excluded": list(UNUSED_COMPONENTS)},
        "reltext": __version__,
        "parameters": {"workers": workers, "batch_size": batch_size, "engine": engine},
    }


def _code_with_relational_model(store: Store, manifest: dict[str, Any], *,
                                adapted: str | None = None, **run: Any
                                ) -> Iterator[BatchProgress]:
    """Code with the relational model (or the project's adaptation ``adapted`` of it).

    The run records the model, its encoder and its training data's hashes.
    """
    from .coding.coders.relational import RelationalModel, RelationalTurnCoder

    model = RelationalModel.load()
    factory = functools.partial(RelationalTurnCoder, str(store.path), adapted=adapted)
    coder_id = model.coder_id if adapted is None else f"learned:{adapted}"
    manifest = {**manifest, "coder_kind": "model" if adapted is None else "learned",
                "model": {"name": "relational", "version": model.version, "adapted": adapted,
                          "encoder": model.reader, "trained_at": model.manifest.get("trained_at"),
                          "data": [{k: f[k] for k in ("name", "turns_sha256", "codes_sha256")}
                                   for f in model.manifest.get("data", [])]}}
    yield from run_coding(store, factory, coder_id=coder_id, manifest=manifest, **run)


def _package_version(name: str) -> str | None:
    from importlib import metadata

    for candidate in (name, name.replace("_", "-")):
        try:
            return metadata.version(candidate)
        except metadata.PackageNotFoundError:
            continue
    return None


def codebook_for_coder(store: Store, coder: str) -> Codebook:
    """The codebook a rules coder (``rules:NAME@VERSION``) coded with, as recorded."""
    if coder.startswith("rules:") and "@" in coder:
        name, version = coder.removeprefix("rules:").split("@", 1)
        with store.read() as conn:
            recorded = store.find_codebook(conn, name=name, version=version)
        if recorded is not None:
            import yaml

            return parse_codebook(yaml.safe_load(recorded["content"]), path=recorded["source"],
                                  sha256=recorded["content_hash"])
    return resolve_codebook(store, None)


def default_auto_coder(store: Store) -> str:
    """The coder of the project's latest finished coding run."""
    with store.read() as conn:
        runs = [r for r in store.list_runs(conn, kind="code") if r.get("coder")]
    if not runs:
        raise ReltextError("the project has no automatic codings to evaluate",
                           fix="Run 'reltext code' first, or name a coder with --coder.")
    return sorted(runs, key=lambda r: r["started_at"])[-1]["coder"]


def evaluate_coder(store: Store, gold_path: str | Path, *, coder: str | None = None,
                   interviewers: bool = False) -> dict[str, Any]:
    """Score ``coder`` (default: the latest automatic coder) against a gold codings CSV.

    The unit is the turn; every gold turn counts, and a gold turn the coder has not coded
    counts as "no code". Macro averages are over the codebook's codes. A research
    interviewer's turns are context, not data, and are left out unless ``interviewers``.
    """
    coder = coder or default_auto_coder(store)
    codebook = codebook_for_coder(store, coder)
    gold = read_codings_csv(gold_path)
    with store.read() as conn:
        known = store.turn_keys(conn)
        predicted = store.coded_turn_codes(conn, coder)
        left_out = set() if interviewers else store.interviewer_turn_keys(conn)
    if not predicted:
        raise ReltextError(f"the coder {coder!r} has coded nothing in this project",
                           fix="Check the name with 'reltext coders'.")
    missing = [key for key in gold if key not in known]
    if missing:
        transcript_id, turn_id = missing[0]
        raise ReltextError(
            f"{len(missing)} gold row(s) name turns not in the project, the first being turn "
            f"{turn_id!r} of transcript {transcript_id!r}", path=gold_path,
            fix="Ingest those transcripts first (reltext ingest), with the same ids.")
    gold = {key: codes for key, codes in gold.items() if key not in left_out}
    return evaluate(gold, predicted, codebook.keys, coder=coder)


def coder_agreement(store: Store, first: str, second: str, *, interviewers: bool = False
                    ) -> dict[str, Any]:
    """Cohen's kappa and Krippendorff's alpha per code over the turns both coders coded.

    A research interviewer's turns are left out unless ``interviewers``.
    """
    with store.read() as conn:
        a = store.coded_turn_codes(conn, first)
        b = store.coded_turn_codes(conn, second)
        left_out = set() if interviewers else store.interviewer_turn_keys(conn)
    a = {key: codes for key, codes in a.items() if key not in left_out}
    b = {key: codes for key, codes in b.items() if key not in left_out}
    for name, codings in ((first, a), (second, b)):
        if not codings:
            raise ReltextError(f"the coder {name!r} has coded nothing in this project",
                               fix="Check the name with 'reltext coders'.")
    codebook = codebook_for_coder(store, first if first.startswith("rules:") else second)
    used = set().union(*a.values(), *b.values())
    keys = list(codebook.keys) + sorted(used - set(codebook.keys))
    result = agreement(a, b, keys)
    result["coders"] = [first, second]
    return result


def is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
