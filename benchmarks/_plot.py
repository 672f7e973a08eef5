"""A benchmark's sweep as a small SVG chart: throughput (bars, left axis) and p50/p99 latency
(lines, right axis) at each concurrency, so a reader sees where it saturates. Written by hand
rather than with a plotting library: the figure is four points, and the benchmarks stay on the
project's own dependencies."""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 70, 80, 50, 60


def _nice(top: float) -> float:
    """A round axis maximum at or above ``top``."""
    if top <= 0:
        return 1.0
    step = 10 ** len(str(int(top))) / 10
    for factor in (1, 2, 2.5, 5, 10):
        if top <= step * factor:
            return step * factor
    return top


def sweep_svg(
    title: str,
    concurrency: list[int],
    throughput: list[float],
    p50_s: list[float],
    p99_s: list[float],
    unit: str,
    ceiling: float | None = None,
) -> str:
    """The chart; ``unit`` names the throughput ("logins/s"), ``ceiling`` draws its limit."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    rate_max = _nice(max([*throughput, ceiling or 0.0]) * 1.1)
    ms = [v * 1000 for v in p50_s + p99_s]
    ms_max = _nice(max(ms) * 1.1 if ms else 1.0)
    slot = plot_w / len(concurrency)

    def x(i: int) -> float:
        return LEFT + slot * (i + 0.5)

    def y_rate(v: float) -> float:
        return TOP + plot_h * (1 - v / rate_max)

    def y_ms(v: float) -> float:
        return TOP + plot_h * (1 - v * 1000 / ms_max)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="24" text-anchor="middle" font-size="15">{escape(title)}</text>',
    ]
    for k in range(5):  # grid and both axes' labels
        frac = k / 4
        y = TOP + plot_h * (1 - frac)
        out.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{rate_max * frac:g}</text>'
        )
        out.append(f'<text x="{WIDTH - RIGHT + 6}" y="{y + 4:.1f}">{ms_max * frac:g}</text>')
    bar = slot * 0.45
    for i, (c, v) in enumerate(zip(concurrency, throughput, strict=True)):
        out.append(
            f'<rect x="{x(i) - bar / 2:.1f}" y="{y_rate(v):.1f}" width="{bar:.1f}" '
            f'height="{TOP + plot_h - y_rate(v):.1f}" fill="#4c78a8"/>'
        )
        out.append(
            f'<text x="{x(i):.1f}" y="{y_rate(v) - 4:.1f}" text-anchor="middle">{v:.1f}</text>'
        )
        out.append(
            f'<text x="{x(i):.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">C={c}</text>'
        )
    if ceiling:
        y = y_rate(ceiling)
        out.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            f'stroke="#4c78a8" stroke-dasharray="6 4"/>'
        )
        out.append(
            f'<text x="{LEFT + 4}" y="{y - 4:.1f}" fill="#4c78a8">ceiling {ceiling:.1f}</text>'
        )
    for series, colour, name in ((p50_s, "#f58518", "p50"), (p99_s, "#e45756", "p99")):
        if not series:
            continue
        points = " ".join(f"{x(i):.1f},{y_ms(v):.1f}" for i, v in enumerate(series))
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for i, v in enumerate(series):
            out.append(f'<circle cx="{x(i):.1f}" cy="{y_ms(v):.1f}" r="3" fill="{colour}"/>')
        last = len(series) - 1
        out.append(
            f'<text x="{x(last) + 8:.1f}" y="{y_ms(series[last]) + 4:.1f}" '
            f'fill="{colour}">{name}</text>'
        )
    right_axis = "latency, ms" if p50_s or p99_s else ""
    out += [
        f'<text x="16" y="{TOP + plot_h / 2}" transform="rotate(-90 16 {TOP + plot_h / 2})" '
        f'text-anchor="middle" fill="#4c78a8">{escape(unit)}</text>',
        f'<text x="{WIDTH - 14}" y="{TOP + plot_h / 2}" '
        f'transform="rotate(90 {WIDTH - 14} {TOP + plot_h / 2})" text-anchor="middle" '
        f'fill="#e45756">{right_axis}</text>',
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 14}" text-anchor="middle">concurrency</text>',
        "</svg>",
    ]
    return "\n".join(out) + "\n"
