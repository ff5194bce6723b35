"""The trace as a server-rendered SVG: columns by kind, left to right, no script (SPEC 4.9).

donor → collection → lot(s) → bags → patients → infusions, with material lots in the column
before the lots (they flow into them) and QC results and signatures in the column after.
Colours and sizes are SVG presentation attributes, which the CSP allows (no style= at all).
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from .service import Trace

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 190, 40, 60, 14, 16

# Column of each kind; cell banks and batches get columns of their own.
COLUMNS = {
    "donor": 0, "collection": 1, "material_lot": 2, "lot:cell_bank": 3, "lot:product_batch": 4,
    "passage": 5, "qc_result": 5, "signature": 5, "bag": 6, "custody_event": 7, "patient": 8,
    "infusion": 9, "adverse_event": 10,
}
# Custody events are drawn for a trace of a few bags; beyond that they would bury the graph, so
# they are listed in the table and the exports only.
MAX_BAGS_WITH_CUSTODY = 12
FILL = {
    "donor": "#f3e8ff", "collection": "#ede9fe", "material_lot": "#fef3c7", "lot": "#dbeafe",
    "qc_result": "#e0f2fe", "signature": "#e2e8f0", "bag": "#dcfce7", "patient": "#fce7f3",
    "infusion": "#ffedd5", "adverse_event": "#fee2e2", "passage": "#e0e7ff",
    "custody_event": "#ecfccb",
}


def _column(node) -> int:
    if node.kind == "lot":
        return COLUMNS[f"lot:{node.fields.get('lot_kind', 'product_batch')}"]
    return COLUMNS.get(node.kind, 10)


def _clip(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _drawn(result: Trace) -> list:
    if len(result.of_kind("bag")) <= MAX_BAGS_WITH_CUSTODY:
        return result.nodes
    return [n for n in result.nodes if n.kind != "custody_event"]


def to_svg(result: Trace, *, title: str = "Trace") -> str:
    nodes = _drawn(result)
    used = sorted({_column(n) for n in nodes})
    place = {col: i for i, col in enumerate(used)}
    rows: dict[int, int] = {}
    pos: dict[str, tuple[int, int]] = {}
    for node in nodes:
        col = place[_column(node)]
        row = rows.get(col, 0)
        rows[col] = row + 1
        pos[node.id] = (PAD + col * (NODE_W + GAP_X), PAD + row * (NODE_H + GAP_Y))
    width = PAD * 2 + max(len(used), 1) * (NODE_W + GAP_X) - GAP_X
    height = PAD * 2 + max(rows.values(), default=1) * (NODE_H + GAP_Y) - GAP_Y
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trace-graph" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
    ]
    for edge in result.edges:
        if edge.source not in pos or edge.target not in pos:
            continue
        (x1, y1), (x2, y2) = pos[edge.source], pos[edge.target]
        if x1 == x2:  # same column (rare): a side loop
            d = (f"M{x1 + NODE_W} {y1 + NODE_H / 2} C{x1 + NODE_W + 30} {y1 + NODE_H / 2} "
                 f"{x2 + NODE_W + 30} {y2 + NODE_H / 2} {x2 + NODE_W} {y2 + NODE_H / 2}")
        else:
            sx, sy, tx, ty = x1 + NODE_W, y1 + NODE_H / 2, x2, y2 + NODE_H / 2
            mid = (sx + tx) / 2
            d = f"M{sx} {sy} C{mid} {sy} {mid} {ty} {tx} {ty}"
        parts.append(f'<path d="{d}" fill="none" stroke="#64748b" stroke-width="1">'
                     f"<title>{escape(edge.kind.replace('_', ' '))}</title></path>")
    for node in nodes:
        x, y = pos[node.id]
        root = node.id == result.root
        box = (f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6" '
               f'fill="{FILL.get(node.kind, "#f1f5f9")}" '
               f'stroke="{"#0f172a" if root else "#94a3b8"}" '
               f'stroke-width="{3 if root else 1}"/>'
               f'<text x="{x + 8}" y="{y + 16}" font-weight="bold">'
               f"{escape(_clip(node.label))}</text>"
               f'<text x="{x + 8}" y="{y + 32}" fill="#334155">'
               f"{escape(_clip(node.kind.replace('_', ' ') + (' · ' + node.status.replace('_', ' ') if node.status else '')))}"  # noqa: E501
               f"</text>")
        tip = f"<title>{escape(node.label)}</title>"
        if node.url:
            parts.append(f"<a href={quoteattr(node.url)}>{tip}{box}</a>")
        else:
            parts.append(f"<g>{tip}{box}</g>")
    parts.append("</svg>")
    return "".join(parts)
