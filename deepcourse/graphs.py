"""Draw a scalar computation graph (micrograd's ``Value`` nodes) with matplotlib alone.

No Graphviz binary is needed: nodes are placed in columns by their depth from the leaves,
each shown as a box with its ``data`` and ``grad``, and each operation as a small circle
between a node and its inputs.
"""

from __future__ import annotations


def _columns(root) -> dict[int, list]:
    """Nodes by column: a node sits one column left of the leftmost node that uses it."""
    nodes, seen, todo = [], {id(root)}, [root]
    while todo:  # every node once
        node = todo.pop()
        nodes.append(node)
        for child in node._prev:
            if id(child) not in seen:
                seen.add(id(child))
                todo.append(child)
    distance = {id(root): 0}  # longest distance from the root, relaxed until it is stable
    changed = True
    while changed:
        changed = False
        for node in nodes:
            for child in node._prev:
                if id(node) in distance and distance.get(id(child), -1) < distance[id(node)] + 1:
                    distance[id(child)] = distance[id(node)] + 1
                    changed = True
    deepest = max(distance.values())
    columns: dict[int, list] = {}
    for node in nodes:
        columns.setdefault(deepest - distance[id(node)], []).append(node)
    return dict(sorted(columns.items()))


def draw_graph(root, labels: dict | None = None, ax=None):
    """Draw the graph that produced ``root``; ``labels`` maps nodes to names. Returns the axes."""
    import matplotlib.pyplot as plt

    labels = {id(k): v for k, v in (labels or {}).items()}
    columns = _columns(root)
    order = [n for col in columns.values() for n in col]
    pos = {id(n): (2.4 * d, -1.2 * i + 0.6 * (len(col) - 1)) for d, col in columns.items()
           for i, n in enumerate(col)}
    if ax is None:
        rows = max(map(len, columns.values()))
        _, ax = plt.subplots(figsize=(2.3 * len(columns) + 0.5, 1.1 * rows + 0.6))
    for node in order:
        x, y = pos[id(node)]
        if node._prev:
            ax.annotate("", xy=(x - 0.55, y), xytext=(x - 1.05, y),
                        arrowprops={"arrowstyle": "->", "color": "0.4"})
            ax.text(x - 1.2, y, getattr(node, "_op", "") or "?", ha="center", va="center",
                    fontsize=9, bbox={"boxstyle": "circle,pad=0.25", "fc": "lightyellow",
                                      "ec": "0.4"})
            for child in node._prev:
                cx, cy = pos[id(child)]
                ax.annotate("", xy=(x - 1.38, y), xytext=(cx + 0.58, cy),
                            arrowprops={"arrowstyle": "->", "color": "0.6",
                                        "shrinkA": 0, "shrinkB": 2})
        name = labels.get(id(node), "")
        text = f"{name + chr(10) if name else ''}data {node.data:.4f}\ngrad {node.grad:.4f}"
        ax.text(x, y, text, ha="center", va="center", fontsize=8, linespacing=1.2,
                bbox={"boxstyle": "round", "fc": "aliceblue", "ec": "steelblue"})
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set(xlim=(min(xs) - 0.8, max(xs) + 0.8), ylim=(min(ys) - 0.7, max(ys) + 0.7))
    ax.axis("off")
    return ax
