"""Drawing restoration plans: a layout that stays linear in the bus count."""

from __future__ import annotations

import networkx as nx
import numpy as np

from gridai.restoration.plot import tree_layout


def test_tree_layout_places_every_bus_right_of_its_parent_on_a_large_feeder() -> None:
    rng = np.random.default_rng(3)
    n = 6000
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from((i, int(rng.integers(0, i))) for i in range(1, n))  # a random tree rooted at 0
    g.add_edge(n, n + 1)  # a piece no source reaches
    pos = tree_layout(g, [0])
    assert set(pos) == set(g.nodes)
    depth = nx.single_source_shortest_path_length(g, 0)
    for node, d in depth.items():
        assert pos[node][0] == d
    leaves = [v for v in range(1, n) if g.degree(v) == 1]
    assert len({pos[v][1] for v in leaves}) == len(leaves), "leaves never overlap"
    assert pos[n][1] < min(pos[v][1] for v in range(n)), "unreached buses are drawn below"
