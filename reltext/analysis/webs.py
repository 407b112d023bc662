"""Relational webs: a participant (or a role, or a group) and the interactants they relate to.

A web is a star-shaped :class:`networkx.Graph`: the centre node is the participant (or the
group), and each interactant mentioned in the centre's turns is a node joined to it. The
edge says what those turns generate:

- ``mentions``: turns that mention the interactant;
- ``weight``: code co-occurrences, i.e. the sum over those turns of the number of distinct
  codes the turn carries (a turn mentioning "worker" coded trust and hope adds 2);
- ``goods`` / ``evils``: the relational goods and evils among them (see
  :mod:`reltext.analysis.balance`) and ``balance = (goods - evils) / (goods + evils)``;
- ``codes``: every code with its count, ``turns``: the turns, as ``transcript_id:turn_id``;
- ``quotes``: the sentences that mention the interactant, one per line.

Given the codings' spans, an edge counts only the codes coded in the sentences that mention
its interactant, not every code of those turns: in "The group has been brilliant, but mum
died and my brother and I don't speak", the group is a good and mum and the brother are not
(the codebook reads losses, estrangement and death as isolation, an evil). Without spans,
a turn's codes count for every interactant it mentions.

Nodes and edges carry a ``colour`` from red (evils) through grey to green (goods)
(:data:`LEGEND` says so in words).

Example:
    >>> graph = relational_web(turns, mentions, group="participant", value="P01")
    >>> write_web(graph, "p01.graphml")
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from ..errors import ReltextError
from ..files import atomic_path
from .balance import EVILS, GOODS, grouping_columns
from .segments import sentence_bounds

CENTRE = "centre"
WEB_FORMATS = (".graphml", ".json")
NEUTRAL = "#9e9e9e"
# What a web's colours mean, for the legends of the viewer and the report.
LEGEND = (("relational goods (trust, hope, connection, empowerment)", 1.0),
          ("as many goods as evils", 0.0),
          ("relational evils (mistrust, hopelessness, isolation, disempowerment, stigma)", -1.0),
          ("neither: no good or evil coded where it is mentioned", float("nan")))
QUOTES_PER_EDGE = 10


def balance_colour(balance: float | None) -> str:
    """A colour for a balance in [-1, 1]: red for evils, green for goods, grey for neither."""
    if balance is None or math.isnan(balance):
        return NEUTRAL
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    return to_hex(colormaps["RdYlGn"](0.1 + 0.8 * (balance + 1) / 2))


def relational_web(turns: pd.DataFrame, interactants: pd.DataFrame, *, group: str = "participant",
                   value: str, own_turns_only: bool = True,
                   codings: pd.DataFrame | None = None) -> nx.Graph:
    """The web of one participant, role or group.

    Args:
        turns: The coded-turns table (:func:`reltext.review.effective.coded_turns`).
        interactants: Its mentions (:func:`reltext.analysis.interactants.extract_interactants`).
        group: ``participant``, ``role`` or any single column of ``turns`` (``site``...).
        value: The participant, role or group value at the centre.
        own_turns_only: Count only the interviewed people's own turns (``is_participant``),
            not the interviewer's; ignored when grouping by ``role``.
        codings: The same coder's effective codings (``transcript_id, turn_id, code,
            start_char, end_char``): an edge then counts the codes of the sentences that
            mention its interactant only.

    Raises:
        ReltextError: ``group`` is not a column, or no turn has that value.
    """
    (column,) = grouping_columns(turns, group)[-1:]
    selected = turns[turns[column].astype(str) == str(value)]
    if own_turns_only and column != "role":
        selected = selected[selected["is_participant"]]
    if selected.empty:
        raise ReltextError(f"no coded turns with {column} = {value!r}",
                           fix=f"Use a {column} from the project (see 'reltext profiles --by {group}').")
    codes_by_turn = {(t, u): codes for t, u, codes in
                     zip(selected["transcript_id"], selected["turn_id"], selected["codes"])}
    graph = nx.Graph(group=column, value=str(value), turns=len(selected))
    centre_codes = Counter(code for codes in selected["codes"] for code in codes)
    centre_goods = sum(centre_codes[c] for c in GOODS)
    centre_evils = sum(centre_codes[c] for c in EVILS)
    graph.add_node(CENTRE, label=str(value), kind=column, mentions=len(selected),
                   goods=centre_goods, evils=centre_evils,
                   balance=_balance(centre_goods, centre_evils),
                   colour=balance_colour(_balance(centre_goods, centre_evils)))
    keys = list(zip(interactants["transcript_id"], interactants["turn_id"]))
    mine = interactants[[key in codes_by_turn for key in keys]]
    texts = {(t, u): text for t, u, text in
             zip(selected["transcript_id"], selected["turn_id"], selected["text"])}
    spans = _spans_by_turn(codings, codes_by_turn) if codings is not None else None
    for (kind, label), rows in mine.groupby(["kind", "interactant"], sort=True):
        turn_keys = sorted(set(zip(rows["transcript_id"], rows["turn_id"])))
        said: dict[tuple, set[str]] = {}  # turn -> codes where the interactant is mentioned
        quotes: dict[str, None] = {}
        for t, u, start, end in zip(rows["transcript_id"], rows["turn_id"],
                                    rows["start_char"], rows["end_char"]):
            text = texts[(t, u)]
            begin, finish = sentence_bounds(text, int(start), int(end))
            quotes.setdefault(text[begin:finish].strip())
            said.setdefault((t, u), set()).update(
                codes_by_turn[(t, u)] if spans is None else
                {code for s, e, code in spans.get((t, u), ()) if s < finish and e > begin})
        code_counts = Counter(code for key in turn_keys for code in said[key])
        goods = sum(code_counts[c] for c in GOODS)
        evils = sum(code_counts[c] for c in EVILS)
        balance = _balance(goods, evils)
        node = f"{kind}:{label}"
        graph.add_node(node, label=label, kind=kind, mentions=len(turn_keys), goods=goods,
                       evils=evils, balance=balance, colour=balance_colour(balance))
        graph.add_edge(CENTRE, node, weight=sum(code_counts.values()), mentions=len(turn_keys),
                       goods=goods, evils=evils, balance=balance, colour=balance_colour(balance),
                       codes=";".join(f"{c}:{n}" for c, n in sorted(code_counts.items())),
                       turns=";".join(f"{t}:{u}" for t, u in turn_keys),
                       quotes="\n".join(list(quotes)[:QUOTES_PER_EDGE]))
    return graph


def _spans_by_turn(codings: pd.DataFrame, turns: dict[tuple, Any]
                   ) -> dict[tuple, list[tuple[int, int, str]]]:
    """``(transcript_id, turn_id) -> [(start, end, code)]`` of the codings on these turns."""
    spans: dict[tuple, list[tuple[int, int, str]]] = {}
    for t, u, start, end, code in zip(codings["transcript_id"], codings["turn_id"],
                                      codings["start_char"], codings["end_char"],
                                      codings["code"]):
        if (t, u) in turns:
            spans.setdefault((t, u), []).append((int(start), int(end), code))
    return spans


def web_tables(graph: nx.Graph) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The web's nodes and edges as DataFrames, each with the attributes as columns."""
    nodes = pd.DataFrame([{"id": node, **data} for node, data in graph.nodes(data=True)])
    edges = pd.DataFrame([{"source": a, "target": b, **data}
                          for a, b, data in graph.edges(data=True)])
    return nodes, edges


def web_elements(graph: nx.Graph, *, top: int | None = None, seed: int = 0) -> dict[str, Any]:
    """Nodes with positions and edges, ready for an interactive plot (plotly) in the viewer.

    Args:
        graph: A web from :func:`relational_web`.
        top: Keep the ``top`` interactants by weight, then mentions (all when None).
        seed: Seed of the layout, so the same web is always drawn the same way.

    Returns:
        ``{"nodes": [{"id", "label", "kind", "x", "y", "size", "colour", "mentions",
        "goods", "evils", "balance"}...], "edges": [{"source", "target", "weight",
        "colour", "codes", "turns", "x0", "y0", "x1", "y1"}...]}``; the centre is at (0, 0).
    """
    graph = top_interactants(graph, top) if top is not None else graph
    positions = web_layout(graph, seed=seed)
    nodes = []
    for node, data in graph.nodes(data=True):
        x, y = positions[node]
        size = 30.0 if node == CENTRE else 10.0 + 4.0 * np.sqrt(data["mentions"])
        nodes.append({"id": node, **_plain(data), "x": float(x), "y": float(y), "size": size})
    edges = []
    for a, b, data in graph.edges(data=True):
        (x0, y0), (x1, y1) = positions[a], positions[b]
        edges.append({"source": a, "target": b, **_plain(data), "x0": float(x0),
                      "y0": float(y0), "x1": float(x1), "y1": float(y1)})
    return {"nodes": nodes, "edges": edges}


def top_interactants(graph: nx.Graph, top: int) -> nx.Graph:
    """The web with only its ``top`` interactants by co-occurrence weight, then mentions."""
    ranked = sorted(
        (node for node in graph if node != CENTRE),
        key=lambda node: (-graph.edges[CENTRE, node]["weight"], -graph.nodes[node]["mentions"], node),
    )
    return graph.subgraph([CENTRE, *ranked[:top]]).copy()


def web_layout(graph: nx.Graph, *, seed: int = 0) -> dict[str, np.ndarray]:
    """Interactants on a circle round the centre, grouped by kind, heavier edges first."""
    others = sorted((node for node in graph if node != CENTRE),
                    key=lambda node: (graph.nodes[node]["kind"],
                                      -graph.edges[CENTRE, node]["weight"], node))
    positions = {CENTRE: np.zeros(2)}
    count = max(len(others), 1)
    offset = np.random.default_rng(seed).uniform(0, 2 * np.pi / count)
    for index, node in enumerate(others):
        angle = offset + 2 * np.pi * index / count
        positions[node] = np.array([np.cos(angle), np.sin(angle)])
    return positions


def web_to_json(graph: nx.Graph) -> dict[str, Any]:
    """The web as node-link JSON (networkx's ``node_link_data`` with ``edges``)."""
    return nx.node_link_data(graph, edges="edges")


def write_web(graph: nx.Graph, out: str | Path) -> Path:
    """Write a web to ``.graphml`` or ``.json`` (node-link), atomically.

    Raises:
        ReltextError: another file extension, or a missing folder.
    """
    out = Path(out)
    if out.suffix.lower() not in WEB_FORMATS:
        raise ReltextError(f"cannot write a web to a {out.suffix or 'suffix-less'} file",
                           path=out, fix="Name the file .graphml or .json.")
    with atomic_path(out) as temporary:
        if out.suffix.lower() == ".graphml":
            clean = nx.Graph(**graph.graph)
            clean.add_nodes_from((n, _graphml_safe(d)) for n, d in graph.nodes(data=True))
            clean.add_edges_from((a, b, _graphml_safe(d)) for a, b, d in graph.edges(data=True))
            nx.write_graphml(clean, temporary)
        else:
            temporary.write_text(
                json.dumps(_plain(web_to_json(graph)), ensure_ascii=False, indent=1),
                encoding="utf-8")
    return out


def _balance(goods: int, evils: int) -> float:
    return (goods - evils) / (goods + evils) if goods + evils else float("nan")


def _graphml_safe(data: dict[str, Any]) -> dict[str, Any]:
    # GraphML has no NaN-free "missing" value for doubles: leave the attribute out instead.
    return {k: v for k, v in data.items() if not (isinstance(v, float) and math.isnan(v))}


def _plain(value: Any) -> Any:
    """JSON-safe copies: NaN becomes null, numpy numbers become Python numbers."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
