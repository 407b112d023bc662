"""The Python API: a project database and what can be done with it.

Example:
    >>> from reltext import Project
    >>> project = Project("study.db")
    >>> results = project.ingest(["interviews/"], manifest="interviews/manifest.yaml")
    >>> project.turns().groupby("role").size()
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .coding.batch import BatchProgress
from .corpus.ingest import IngestResult, find_files, ingest_files, scan_paths
from .corpus.manifest import Manifest, load_manifest
from .corpus.pseudonymise import (
    Pseudonymiser,
    PseudonymiseSummary,
    default_key_path,
    pseudonymise_project,
)
from .exchange.refi import ExportSummary, write_qdpx
from .exchange.tables import codings_frame, transcripts_frame, turns_frame
from .review.effective import check_coder, coded_turns, codings_with_review, effective_codings
from .review.gold import import_codings
from .store.database import Store
from .topics.codes import candidate_codes, promote_topic, topic_code_table
from .topics.fitting import (TopicSettings, TopicsResult, assign_topics, fit_topics, has_topics,
                             topic_runs)
from .topics.views import topic_distribution, topics_frame, turn_topics_frame

if TYPE_CHECKING:
    import networkx as nx

    from .learning.training import TrainedModel
    from .model import Answer

Progress = Callable[[Iterable[Any], int, str], Iterable[Any]]
# Finds the interactants of texts, one list per text.
Extract = Callable[[list[str]], Iterable[Any]]


class Project:
    """A reltext project: one database file holding transcripts, codings and decisions.

    Args:
        db: The project file; ``$RELTEXT_DB`` or ``reltext.db`` when None. Created if missing.
    """

    def __init__(self, db: str | os.PathLike[str] | None = None, *, create: bool = True) -> None:
        self.store = Store.open(db, create=create)

    @property
    def path(self) -> Path:
        return self.store.path

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- ingest -------------------------------------------------------------------------

    def iter_ingest(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        format: str | None = None,
        manifest: str | os.PathLike[str] | Manifest | None = None,
        pseudonymiser: Pseudonymiser | None = None,
        key_out: str | os.PathLike[str] | None = None,
        external_sources: str | os.PathLike[str] | None = None,
    ) -> Iterator[IngestResult]:
        """Ingest files and folders, yielding one :class:`IngestResult` per file as it ends.

        With a ``pseudonymiser``, every file is pseudonymised before it is stored and the
        key saved to ``key_out`` (``<db>.pseudonym-key.csv`` when None, with a warning).
        A REFI-QDA project's external sources are read from ``external_sources`` only, and
        refused without it.
        """
        skip = []
        if manifest is not None and not isinstance(manifest, Manifest):
            skip.append(Path(manifest))
            manifest = load_manifest(manifest)
        files = find_files([Path(p) for p in paths], skip=skip)
        transform = None
        if pseudonymiser is not None:
            key_path = Path(key_out) if key_out else default_key_path(self.path)
            transform = functools.partial(pseudonymiser.ingest_step, key_out=key_path)
        yield from ingest_files(self.store, files, format=format, manifest=manifest,
                                transform=transform, external_sources=external_sources)

    def ingest(self, paths, *, format=None, manifest=None, external_sources=None
               ) -> list[IngestResult]:
        """Ingest files and folders; see :meth:`iter_ingest`."""
        return list(self.iter_ingest(paths, format=format, manifest=manifest,
                                     external_sources=external_sources))

    def count_files(self, paths: Sequence[str | os.PathLike[str]], *, manifest=None) -> int:
        return len(self.scan(paths, manifest=manifest)[0])

    def scan(self, paths: Sequence[str | os.PathLike[str]], *, manifest=None
             ) -> tuple[list[Path], list[tuple[Path, str]]]:
        """The files :meth:`iter_ingest` would read, and those its folders hold that it
        leaves out, each with the reason (see :func:`reltext.corpus.ingest.scan_paths`)."""
        skip = [Path(manifest)] if manifest is not None and not isinstance(manifest, Manifest) \
            else []
        return scan_paths([Path(p) for p in paths], skip=skip)

    # -- reading ------------------------------------------------------------------------

    def transcripts(self) -> pd.DataFrame:
        """One row per current transcript: turns, words, speakers with roles, attributes."""
        return transcripts_frame(self.store)

    def turns(self, transcript_ids: list[str] | None = None) -> pd.DataFrame:
        """One row per turn, with the contract's columns and the metadata columns."""
        return turns_frame(self.store, transcript_ids=transcript_ids)

    def codings(self, coder: str | None = None, *, review: bool = False) -> pd.DataFrame:
        """One row per coding (all coders, or one), with the contract's columns.

        With ``review``, also each coding's ``status``, ``reviewer`` and ``final_code``, and
        without the codes people withdrew (see :func:`reltext.review.effective.codings_with_review`).
        """
        if review:
            return codings_with_review(self.store, coder)
        return codings_frame(self.store, coder=coder)

    def coders(self) -> pd.DataFrame:
        """Every coder in the project with the turns it coded and the codings it made."""
        with self.store.read() as conn:
            return pd.DataFrame(self.store.coders(conn), columns=["coder", "turns", "codings"])

    def segments(self, code: str, *, where=None, coders=None, states=None) -> pd.DataFrame:
        """Every segment coded ``code``, with its case attributes (see :mod:`reltext.analysis.segments`)."""
        from .analysis.segments import segments

        return segments(self.store, code, where=where, coders=coders, states=states)

    def turn_codes(self, coder: str) -> dict[tuple[str, str], set[str]]:
        """``(transcript_id, turn_id) -> codes`` over the turns ``coder`` has coded."""
        with self.store.read() as conn:
            return self.store.coded_turn_codes(conn, coder)

    # -- the learned coder -----------------------------------------------------------------

    def train(self, *, gold: str | os.PathLike[str] | None = None,
              coders: Sequence[str] | None = None,
              codebook: str | os.PathLike[str] | None = None, embedding: str | None = None,
              random_state: int | None = 0) -> TrainedModel:
        """Fit, save and record a learned coder (see :mod:`reltext.learning.training`).

        Args:
            gold: A codings CSV imported first as ``human:gold`` and trained on.
            coders: The human coders to learn from (with ``gold``: in addition to it);
                every human coder when None. Review decisions always count.
            codebook: The codebook YAML (codes, seed examples, rules); the bundled one when None.
            embedding: ``"minilm"`` or ``"tfidf"``; MiniLM when installed when None.
        """
        from .learning import training

        return training.train_model(self.store, random_state=random_state,
                                    **self._training_inputs(gold, coders, codebook, embedding))

    def adapt(self, *, gold: str | os.PathLike[str] | None = None,
              coders: Sequence[str] | None = None) -> Any:
        """Adapt the shipped relational model to the project (see :mod:`reltext.learning.adaptation`).

        Args:
            gold: A codings CSV imported first as ``human:gold`` and learned from.
            coders: The human coders to learn from (with ``gold``: in addition to it); every
                human coder when None. Review decisions and answers always count.
        """
        from .learning import training
        from .learning.adaptation import adapt
        from .coding.coders.relational import RelationalModel

        chosen = list(coders or [])
        if gold is not None:
            self.import_codings(gold, coder=training.GOLD_CODER,
                                known_codes=RelationalModel.load().codes)
            chosen.insert(0, training.GOLD_CODER)
        return adapt(self.store, coders=chosen or None)

    def cross_validate(self, *, gold=None, coders=None, codebook=None, embedding=None,
                       n_splits: int = 5, random_state: int | None = 0) -> dict[str, Any]:
        """Rules, learned and auto scored on transcripts each model never saw (grouped CV)."""
        from .learning import training

        inputs = self._training_inputs(gold, coders, codebook, embedding)
        inputs.pop("rules_name")
        inputs.pop("codebook")
        return training.cross_validate(self.store, n_splits=n_splits, random_state=random_state,
                                       **inputs)

    def _training_inputs(self, gold, coders, codebook, embedding) -> dict[str, Any]:
        from .learning import training
        from .coding.codebook import load_codebook
        from .coding.coders.rules import RulesCoder

        book = load_codebook(codebook)
        chosen = list(coders or [])
        if gold is not None:
            self.import_codings(gold, coder=training.GOLD_CODER, known_codes=book.keys)
            chosen.insert(0, training.GOLD_CODER)
        return {
            "codes": list(book.keys), "seeds": training.codebook_seeds(book),
            "coders": chosen or None, "embedding": embedding,
            "rule_coder": training.rules_function(RulesCoder(book), self.store),
            "rules_name": book.coder_id,
            "codebook": {"name": book.name, "version": book.version, "sha256": book.sha256,
                         "path": str(book.path)},
        }

    def models(self) -> pd.DataFrame:
        """The learned models, oldest first: id, when, training size, macro CV kappa."""
        from .learning import training

        rows = []
        for model in training.list_models(self.store):
            manifest = model["manifest"]
            kappas = [s["kappa"] for s in manifest.get("cv", {}).values() if "kappa" in s]
            rows.append({
                "model_id": model["model_id"], "created_at": model["created_at"],
                "turns": manifest.get("training", {}).get("turns"),
                "decisions": manifest.get("training", {}).get("decisions"),
                "answers": manifest.get("training", {}).get("answers", 0),
                "embedding": manifest.get("features", {}).get("embedding"),
                "codes_learned": len(manifest.get("thresholds", {})),
                "codes_to_rules": len(manifest.get("fallback_to_rules", {})),
                "cv_kappa": round(sum(kappas) / len(kappas), 3) if kappas else None,
                "path": model["path"],
            })
        return pd.DataFrame(rows, columns=["model_id", "created_at", "turns", "decisions",
                                           "answers", "embedding", "codes_learned", "codes_to_rules",
                                           "cv_kappa", "path"])

    def review_queue(self, *, n: int = 20, code: str | None = None,
                     model_id: str | None = None) -> pd.DataFrame:
        """The turns whose review would teach the learned coder most (see
        :func:`reltext.learning.questions.review_queue`)."""
        from .learning.questions import review_queue

        return review_queue(self.store, n=n, code=code, model_id=model_id)

    def answer(self, reviewer: str, transcript_id: str, turn_id: str, code: str, *,
               applies: bool, answer_id: str | None = None) -> Answer:
        """Answer a question of the review queue: does ``code`` apply to the turn? (see
        :func:`reltext.learning.questions.answer`)."""
        from .learning.questions import answer

        return answer(self.store, reviewer, transcript_id, turn_id, code, applies=applies,
                      answer_id=answer_id)

    # -- coding -------------------------------------------------------------------------

    def iter_code(
        self,
        *,
        codebook: str | os.PathLike[str] | None = None,
        coder: str = "auto",
        workers: int = 1,
        batch_size: int = 500,
        engine: str = "local",
        scheduler: str | None = None,
        pipeline: str | None = None,
    ) -> Iterator[BatchProgress]:
        """Code every turn this coder and codebook version has not coded, batch by batch.

        Yields a :class:`~reltext.coding.batch.BatchProgress` after each batch is committed; see
        :func:`reltext.autocode.code_project` for the arguments.
        """
        from .autocode import code_project
        from .coding.nlp import DEFAULT_PIPELINE

        return code_project(self.store, codebook_path=codebook, coder=coder,
                            pipeline=pipeline or DEFAULT_PIPELINE, workers=workers,
                            batch_size=batch_size, engine=engine, scheduler=scheduler)

    def code(self, **options: Any) -> BatchProgress | None:
        """Code the project (see :meth:`iter_code`); the last progress, None if nothing to do."""
        last = None
        for last in self.iter_code(**options):
            pass
        return last

    def evaluate(self, gold: str | os.PathLike[str], *, coder: str | None = None,
                 interviewers: bool = False) -> dict[str, Any]:
        """Per-code and macro precision, recall, F1 and Cohen's kappa of a coder against gold.

        Research interviewers' turns are left out unless ``interviewers``.
        """
        from .autocode import evaluate_coder

        return evaluate_coder(self.store, gold, coder=coder, interviewers=interviewers)

    def agreement(self, first: str, second: str, *, interviewers: bool = False
                  ) -> dict[str, Any]:
        """Cohen's kappa and Krippendorff's alpha per code between two coders.

        Research interviewers' turns are left out unless ``interviewers``.
        """
        from .autocode import coder_agreement

        return coder_agreement(self.store, first, second, interviewers=interviewers)

    def import_codings(self, path, *, coder: str, known_codes=None) -> dict[str, int]:
        """Add a human coder's codings from a contract codings CSV (see :mod:`reltext.review.gold`)."""
        return import_codings(self.store, path, coder=coder, known_codes=known_codes)

    # -- exchange -----------------------------------------------------------------------

    def export_qdpx(
        self,
        out: str | os.PathLike[str],
        *,
        accepted_only: bool = False,
        coders: Sequence[str] | None = None,
        transcript_ids: Sequence[str] | None = None,
    ) -> ExportSummary:
        """Write the project as a REFI-QDA ``.qdpx`` for NVivo, ATLAS.ti, MAXQDA, QualCoder.

        See :func:`reltext.exchange.refi.write_qdpx`.
        """
        return write_qdpx(self.store, out, accepted_only=accepted_only, coders=coders,
                          transcript_ids=transcript_ids)

    # -- privacy ------------------------------------------------------------------------

    def pseudonymise(
        self,
        pseudonymiser: Pseudonymiser,
        *,
        key_out: str | os.PathLike[str] | None = None,
        report: str | os.PathLike[str] | None = None,
    ) -> PseudonymiseSummary:
        """Pseudonymise every transcript in place; see :func:`reltext.corpus.pseudonymise.pseudonymise_project`.

        The key goes to ``key_out`` (``<db>.pseudonym-key.csv`` when None, with a warning).
        """
        key_path = Path(key_out) if key_out else default_key_path(self.path)
        return pseudonymise_project(self.store, pseudonymiser, key_out=key_path, report=report)

    # -- topics -------------------------------------------------------------------------

    def fit_topics(self, settings: TopicSettings | None = None, *, progress=None) -> TopicsResult:
        """Fit and store a topic model over the turns; see :func:`reltext.topics.fitting.fit_topics`."""
        return fit_topics(self.store, settings or TopicSettings(), progress=progress)

    def assign_topics(self, run_id: str | None = None, *, progress=None) -> dict[str, int]:
        """Give turns ingested since a topics run their topics, without refitting."""
        return assign_topics(self.store, run_id, progress=progress)

    def topic_runs(self) -> list[dict[str, Any]]:
        """Every topics run with its settings, oldest first."""
        return topic_runs(self.store)

    def topics(self, run_id: str | None = None) -> pd.DataFrame:
        """The topics of a run (the latest by default): ``topic_id, size, label, words``, ..."""
        return topics_frame(self.store, run_id)

    def turn_topics(self, run_id: str | None = None) -> pd.DataFrame:
        """Each modelled unit's topic: ``transcript_id, turn_id, topic_id, probability``, ..."""
        return turn_topics_frame(self.store, run_id)

    def topic_distribution(self, by: str = "role", *, run_id: str | None = None,
                           share: bool = True) -> pd.DataFrame:
        """Topics by role, site, wave or any attribute; see :mod:`reltext.topics.views`."""
        return topic_distribution(self.store, by, run_id=run_id, share=share)

    def topic_code_table(self, coder: str | None = None, *,
                         run_id: str | None = None) -> pd.DataFrame:
        """The share of each topic's coded units carrying each code of ``coder``."""
        return topic_code_table(self.store, coder=coder, run_id=run_id)

    def candidate_codes(self, coder: str | None = None, *, run_id: str | None = None,
                        min_size: int | None = None, max_coverage: float = 0.25,
                        min_coded: int = 5) -> pd.DataFrame:
        """Large, coherent topics that no code of ``coder`` covers, with example turns."""
        return candidate_codes(self.store, coder=coder, run_id=run_id, min_size=min_size,
                               max_coverage=max_coverage, min_coded=min_coded)

    def promote_topic(self, topic_id: int, *, key: str, codebook: str | os.PathLike[str],
                      run_id: str | None = None) -> dict:
        """Add a topic to a codebook YAML as a draft code; see :func:`promote_topic`."""
        return promote_topic(self.store, topic_id, key=key, codebook=codebook, run_id=run_id)

    # -- analysis -----------------------------------------------------------------------
    # Every analysis reads one coder's effective codings (reltext.review.effective): review
    # decisions applied, the coder with the most codings when none is named.

    def effective_codings(self, coder: str | None = None) -> pd.DataFrame:
        """A coder's codings with review decisions applied (see :mod:`reltext.review.effective`)."""
        return effective_codings(self.store, coder)

    def coded_turns(self, coder: str | None = None) -> pd.DataFrame:
        """One row per turn the coder coded, with its effective ``codes``; the analyses' unit.

        The coder used is in ``frame.attrs["coder"]``.
        """
        coder = check_coder(self.store, coder)
        frame = coded_turns(self.store, coder)
        frame.attrs["coder"] = coder
        return frame

    def interactants(self, turns: pd.DataFrame | None = None, *, coder: str | None = None,
                     lexicon: str | os.PathLike[str] | None = None,
                     progress: Progress | None = None,
                     extract: Extract | None = None) -> pd.DataFrame:
        """Every interactant mention in the coded turns (see :mod:`reltext.analysis.interactants`).

        Args:
            turns: Coded turns from :meth:`coded_turns`; those of ``coder`` when None.
            coder: Whose coded turns, when ``turns`` is None.
            lexicon: An interactants lexicon file; the bundled one when None.
            progress: Wraps the per-turn extraction: ``progress(items, length, label)``.
            extract: Finds the interactants of texts (one list per text) instead of this
                process's extractor for ``lexicon``: the viewer's runs in a worker process.
        """
        from .analysis.interactants import cached_extractor, interactants_frame

        turns = self.coded_turns(coder) if turns is None else turns
        texts = turns["text"].astype(str)
        found: Iterable[Any] = (extract(list(texts)) if extract is not None
                                else cached_extractor(lexicon).iter_extract(texts))
        if progress is not None:
            found = progress(found, len(turns), "Finding interactants")
        return interactants_frame(turns, found)

    def balance(self, by: str | list[str] = "speaker", *, coder: str | None = None,
                interviewers: bool = False) -> pd.DataFrame:
        """Relational goods against evils per speaker, transcript, role, wave or any column.

        Research interviewers' turns are left out unless ``interviewers``.
        """
        from .analysis.balance import relational_balance

        return relational_balance(self.coded_turns(coder), by, interviewers=interviewers)

    def sos_profiles(self, by: str | list[str] = "speaker", *, coder: str | None = None,
                     interviewers: bool = False) -> pd.DataFrame:
        """SOS locus shares and the individualisation index per group.

        Research interviewers' turns are left out unless ``interviewers``.
        """
        from .analysis.balance import sos_profile

        return sos_profile(self.coded_turns(coder), by, interviewers=interviewers)

    def wave_change(self, *, coder: str | None = None) -> pd.DataFrame:
        """Balance and individualisation change from each participant's first to last wave."""
        from .analysis.balance import wave_change

        return wave_change(self.coded_turns(coder))

    def cooccurrence(self, *, coder: str | None = None, normalise: str = "count") -> pd.DataFrame:
        """The code-by-code matrix over turns (``count``, ``turns`` or ``jaccard``)."""
        from .analysis.cooccurrence import code_cooccurrence

        return code_cooccurrence(self.coded_turns(coder), normalise=normalise)

    def code_matrix(self, by: str | list[str] = "role", *, coder: str | None = None,
                    normalise: str = "count") -> pd.DataFrame:
        """Codes by transcript, role, wave or any column (``count`` or rate per ``turns``)."""
        from .analysis.cooccurrence import code_by_group

        return code_by_group(self.coded_turns(coder), by, normalise=normalise)

    def web(self, value: str, *, group: str = "participant", coder: str | None = None,
            lexicon: str | os.PathLike[str] | None = None,
            progress: Progress | None = None, turns: pd.DataFrame | None = None,
            extract: Extract | None = None) -> nx.Graph:
        """The relational web of one participant (or role, or group): see :mod:`reltext.analysis.webs`.

        ``turns`` are coded turns from :meth:`coded_turns` (those of ``coder`` when None);
        ``extract`` as for :meth:`interactants`.
        """
        from .analysis.balance import grouping_columns
        from .analysis.webs import relational_web

        turns = self.coded_turns(coder) if turns is None else turns
        # Only the centre's turns need reading for interactants: one web in the viewer
        # then costs seconds, not a pass over the whole corpus.
        column = grouping_columns(turns, group)[-1]
        turns = turns[turns[column].astype(str) == str(value)]
        mentions = self.interactants(turns, lexicon=lexicon, progress=progress, extract=extract)
        codings = effective_codings(self.store, turns.attrs.get("coder", coder),
                                    transcript_ids=sorted(set(turns["transcript_id"])))
        return relational_web(turns, mentions, group=group, value=value,
                              own_turns_only=group != "role", codings=codings)

    def web_elements(self, value: str, *, group: str = "participant", coder: str | None = None,
                     top: int | None = 15, turns: pd.DataFrame | None = None,
                     extract: Extract | None = None) -> dict[str, Any]:
        """A web's nodes (with positions) and edges for an interactive plot."""
        from .analysis.webs import web_elements

        return web_elements(self.web(value, group=group, coder=coder, turns=turns,
                                     extract=extract), top=top)

    def codebook(self) -> pd.DataFrame:
        """The codes of the most recently loaded codebook (empty when none is loaded)."""
        with self.store.read() as conn:
            rows = self.store.latest_codebook_codes(conn)
        return pd.DataFrame(rows, columns=["codebook", "version", "key", "name", "parent",
                                           "family", "polarity", "colour", "definition"])

    def reviewers(self) -> pd.DataFrame:
        """Each reviewer with their decisions, and how many codings they left accepted,
        rejected or corrected (latest decision per coding)."""
        with self.store.read() as conn:
            reviewers = pd.DataFrame(self.store.decision_counts(conn),
                                     columns=["reviewer", "decisions"])
            latest = pd.DataFrame(self.store.review_states(conn),
                                  columns=["coding_id", "reviewer", "verdict", "status", "code",
                                           "start_char", "end_char", "decided_at"])
        verdicts = latest.pivot_table(index="reviewer", columns="status", values="coding_id",
                                      aggfunc="count", fill_value=0)
        verdicts = verdicts.reindex(columns=["accepted", "rejected", "corrected"], fill_value=0)
        return reviewers.merge(verdicts.reset_index(), on="reviewer", how="left").fillna(0)

    def topics_table(self) -> pd.DataFrame | None:
        """The latest fitted topics (``topic_id, size, label, words``...); None when none were."""
        return topics_frame(self.store) if has_topics(self.store) else None

    def report(self, out: str | os.PathLike[str], *, format: str | None = None,
               coder: str | None = None, lexicon: str | os.PathLike[str] | None = None,
               progress: Progress | None = None) -> Path:
        """Write the self-contained HTML (or Markdown) report: see :mod:`reltext.analysis.report`."""
        from .analysis.report import write_report

        return write_report(self, out, format=format, coder=coder, lexicon=lexicon,
                            progress=progress)
