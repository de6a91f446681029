"""A small SVG line-chart writer (no matplotlib): categorical x axis, linear y."""

from __future__ import annotations

import math
from html import escape

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def _nice_step(span: float, ticks: int = 6) -> float:
    raw = max(span / max(ticks, 1), 1e-12)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _open(width: int, height: int, left: int, title: str, subtitle: str) -> list[str]:
    """The SVG's first elements: white background, title and subtitle."""
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
         f'<rect width="{width}" height="{height}" fill="white"/>',
         f'<text x="{left}" y="22" font-size="16" font-weight="bold">{escape(title)}</text>']
    if subtitle:
        o.append(f'<text x="{left}" y="40" fill="#555">{escape(subtitle)}</text>')
    return o


def _hgrid(o: list[str], left: int, pw: float, py, lo: float, hi: float, step: float) -> None:
    """Horizontal grid lines with their y labels from lo to hi."""
    v = lo
    while v <= hi + 1e-9:
        o.append(f'<line x1="{left}" y1="{py(v):.1f}" x2="{left + pw}" y2="{py(v):.1f}" stroke="#e5e5e5"/>')
        o.append(f'<text x="{left - 6}" y="{py(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
        v += step


def line_chart(path: str, title: str, xlabel: str, ylabel: str, xs: list, series: list[dict],
               subtitle: str = "", width: int = 820, height: int = 500, label_every: int = 1) -> None:
    """series: [{"label", "ys" (None = no point), "color"?, "dash"? (bool)}]; x labels on every
    `label_every`-th point."""
    left, right, top, bottom = 70, 250, 56, 56
    pw, ph = width - left - right, height - top - bottom
    vals = [y for s in series for y in s["ys"] if y is not None]
    ymax = max(vals) if vals else 1.0
    step = _nice_step(ymax * 1.05)
    top_val = step * (int(ymax * 1.05 / step) + 1)

    def px(i: int) -> float:
        return left + (pw * (i + 0.5) / len(xs))

    def py(v: float) -> float:
        return top + ph * (1 - v / top_val)

    o = _open(width, height, left, title, subtitle)
    _hgrid(o, left, pw, py, 0.0, top_val, step)
    o.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    for i, x in enumerate(xs):
        if i % label_every:
            continue
        o.append(f'<text x="{px(i):.1f}" y="{top + ph + 18}" text-anchor="middle">{escape(str(x))}</text>')
    o.append(f'<text x="{left + pw / 2}" y="{height - 12}" text-anchor="middle">{escape(xlabel)}</text>')
    o.append(f'<text transform="translate(18,{top + ph / 2}) rotate(-90)" text-anchor="middle">{escape(ylabel)}</text>')
    for k, s in enumerate(series):
        color = s.get("color") or PALETTE[k % len(PALETTE)]
        dash = ' stroke-dasharray="6,4"' if s.get("dash") else ""
        pts = [(px(i), py(y)) for i, y in enumerate(s["ys"]) if y is not None]
        if len(pts) > 1:
            d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            o.append(f'<polyline points="{d}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        for x, y in pts:
            o.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}"/>')
        ly = top + 10 + 20 * k
        lx = left + pw + 16
        o.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 26}" y2="{ly}" stroke="{color}" stroke-width="2"{dash}/>')
        o.append(f'<text x="{lx + 32}" y="{ly + 4}">{escape(s["label"])}</text>')
    o.append("</svg>")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(o) + "\n")


def scatter_chart(path: str, title: str, xlabel: str, ylabel: str, points: list[dict], subtitle: str = "",
                  width: int = 820, height: int = 500) -> None:
    """points: [{"label", "x", "y", "color"?}], each drawn as a labelled dot; both axes linear, the
    x axis from 0, the y axis over the points' range."""
    left, right, top, bottom = 70, 40, 56, 56
    pw, ph = width - left - right, height - top - bottom
    xstep = _nice_step(max(p["x"] for p in points) * 1.1)
    xmax = xstep * (int(max(p["x"] for p in points) * 1.1 / xstep) + 1)
    lo, hi = min(p["y"] for p in points), max(p["y"] for p in points)
    ystep = _nice_step(max(hi - lo, 1e-6) * 1.3, 5)
    ymin, ymax = ystep * math.floor((lo - 0.15 * (hi - lo)) / ystep), ystep * math.ceil((hi + 0.15 * (hi - lo)) / ystep)

    def px(v: float) -> float:
        return left + pw * v / xmax

    def py(v: float) -> float:
        return top + ph * (1 - (v - ymin) / (ymax - ymin))

    o = _open(width, height, left, title, subtitle)
    _hgrid(o, left, pw, py, ymin, ymax, ystep)
    v = 0.0
    while v <= xmax + 1e-9:
        o.append(f'<line x1="{px(v):.1f}" y1="{top}" x2="{px(v):.1f}" y2="{top + ph}" stroke="#f0f0f0"/>')
        o.append(f'<text x="{px(v):.1f}" y="{top + ph + 18}" text-anchor="middle">{v:g}</text>')
        v += xstep
    o.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    o.append(f'<text x="{left + pw / 2}" y="{height - 12}" text-anchor="middle">{escape(xlabel)}</text>')
    o.append(f'<text transform="translate(18,{top + ph / 2}) rotate(-90)" text-anchor="middle">{escape(ylabel)}</text>')
    placed: list[tuple[float, float, float, float]] = []  # label boxes so far (x0, y0, x1, y1)
    for k, p in enumerate(points):
        color = p.get("color") or PALETTE[k % len(PALETTE)]
        x, y = px(p["x"]), py(p["y"])
        w = 6.5 * len(p["label"])  # about 6.5 px a character at font size 12
        # Right of the dot, above or below it, else left of it, else further off: the first spot inside
        # the chart that no earlier label covers.
        for dx, dy in [(8, -8), (8, 18), (-8, -8), (-8, 18), (8, -24), (8, 34), (-8, -24), (-8, 34)]:
            x0 = x + dx if dx > 0 else x + dx - w
            box = (x0, y + dy - 12, x0 + w, y + dy + 2)
            inside = left < box[0] and box[2] < left + pw and top < box[1] and box[3] < top + ph
            if inside and not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                break
        placed.append(box)
        anchor = "start" if dx > 0 else "end"
        o.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{color}"/>')
        o.append(f'<text x="{x + dx:.1f}" y="{y + dy:.1f}" text-anchor="{anchor}" fill="{color}">{escape(p["label"])}</text>')
    o.append("</svg>")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(o) + "\n")
