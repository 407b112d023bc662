"""Relational webs on the hand-checked tiny project, and their GraphML/JSON export."""

from __future__ import annotations

import json
import math

import networkx as nx
import pytest

from reltext.errors import ReltextError
from reltext.analysis.webs import CENTRE, relational_web, web_elements, web_tables, write_web


@pytest.fixture
def tiny_web_inputs(tiny_project):
    turns = tiny_project.coded_turns()
    return turns, tiny_project.interactants(turns)


def test_web_participant_edges(tiny_web_inputs):
    turns, mentions = tiny_web_inputs
    graph = relational_web(turns, mentions, group="participant", value="P1")
    assert sorted(graph.nodes) == [CENTRE, "person:mum", "person:worker", "place:job centre"]
    worker = graph.edges[CENTRE, "person:worker"]
    # "My worker" in two turns: {trust, disempowerment, locus_other} and {hope, trust, locus_other}.
    assert (worker["mentions"], worker["weight"], worker["goods"], worker["evils"]) == (2, 6, 3, 1)
    assert worker["balance"] == pytest.approx(0.5)
    assert worker["turns"] == "p1_w1:1;p1_w2:2"
    job_centre = graph.edges[CENTRE, "place:job centre"]
    assert (job_centre["weight"], job_centre["balance"]) == (3, -1.0)
    assert graph.nodes[CENTRE]["mentions"] == 4  # P1's own turns, not the interviewer's


def test_web_role_and_group(tiny_web_inputs):
    turns, mentions = tiny_web_inputs
    clients = relational_web(turns, mentions, group="role", value="client")
    assert "place:home" in clients and "person:worker" in clients
    south = relational_web(turns, mentions, group="site", value="South")
    assert sorted(south.nodes) == [CENTRE, "place:home"]
    assert south.edges[CENTRE, "place:home"]["evils"] == 1
    with pytest.raises(ReltextError, match="no coded turns with participant = 'P9'"):
        relational_web(turns, mentions, group="participant", value="P9")


def test_web_export_round_trips(tiny_web_inputs, tmp_path):
    turns, mentions = tiny_web_inputs
    graph = relational_web(turns, mentions, group="participant", value="P1")
    read = nx.read_graphml(write_web(graph, tmp_path / "p1.graphml"))
    assert read.edges[CENTRE, "person:worker"]["weight"] == 6
    data = json.loads(write_web(graph, tmp_path / "p1.json").read_text())
    assert {node["id"] for node in data["nodes"]} == set(graph.nodes)
    with pytest.raises(ReltextError, match="Name the file .graphml or .json"):
        write_web(graph, tmp_path / "p1.gexf")


def test_web_elements_for_the_viewer(tiny_web_inputs):
    turns, mentions = tiny_web_inputs
    graph = relational_web(turns, mentions, group="participant", value="P1")
    elements = web_elements(graph, top=2)
    assert next(node["id"] for node in elements["nodes"]) == CENTRE
    assert len(elements["nodes"]) == 3  # the centre and the two heaviest interactants
    centre = elements["nodes"][0]
    assert (centre["x"], centre["y"]) == (0.0, 0.0)
    for edge in elements["edges"]:
        assert math.hypot(edge["x1"], edge["y1"]) == pytest.approx(1.0)
    json.dumps(elements, allow_nan=False)  # plain JSON values only (NaN became None)


def test_web_tables_for_notebooks(tiny_web_inputs):
    turns, mentions = tiny_web_inputs
    nodes, edges = web_tables(relational_web(turns, mentions, group="participant", value="P1"))
    assert set(nodes["id"]) == {CENTRE, "person:mum", "person:worker", "place:job centre"}
    assert edges.set_index("target").loc["person:mum", ["weight", "goods", "evils"]].tolist() \
        == [3, 1, 1]


def test_web_colours_each_edge_by_the_codes_where_its_interactant_is_mentioned(tmp_path):
    """Losses read as losses: a dead mother, an estranged brother and friends who went are
    not goods because the same turn praises the group."""
    from reltext import Project
    from reltext.analysis.webs import balance_colour

    table = tmp_path / "turns.csv"
    table.write_text(
        "transcript_id,turn_id,speaker,role,text\n"
        "str04,0,RH,interviewer,Who is around for you these days?\n"
        'str04,1,Jo,participant,"My mum passed away last year and my brother and I are '
        "estranged now. My friends all just disappeared. But the group on Tuesdays has been "
        'brilliant, I really feel I belong there."\n', encoding="utf-8")
    with Project(tmp_path / "p.db") as project:
        project.ingest([table])
        project.code(coder="rules")
        graph = project.web("str04")
    edges = {node.split(":", 1)[1]: graph.edges[CENTRE, node] for node in graph if node != CENTRE}
    assert {"mum", "brother", "friend", "group"} <= set(edges)
    assert edges["mum"]["evils"] == edges["brother"]["evils"] == 1
    assert edges["mum"]["goods"] == edges["brother"]["goods"] == 0
    assert edges["mum"]["colour"] == balance_colour(-1.0)
    assert edges["friend"]["goods"] <= edges["friend"]["evils"]  # "disappeared": isolation
    assert edges["group"]["goods"] >= 1 and edges["group"]["evils"] == 0
    assert edges["group"]["colour"] == balance_colour(1.0)
    assert edges["mum"]["quotes"] == "My mum passed away last year and my brother and I are " \
                                     "estranged now."
    assert "belong there" in edges["group"]["quotes"]
