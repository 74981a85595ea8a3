"""What the browser tests read off a rendered dashboard: labels that cross a line or another
label (from element boxes and points along every drawn path), and SQL names."""

import re

OVERLAP_JS = """
() => {
    const out = [];
    for (const svg of document.querySelectorAll('figure.chart > svg')) {
        const texts = Array.from(svg.querySelectorAll('text')).map((t) => {
            const b = t.getBoundingClientRect();
            return {text: t.textContent, l: b.left, r: b.right, t: b.top, b: b.bottom};
        }).filter((b) => b.r > b.l);
        const points = [];
        for (const mark of svg.querySelectorAll('path, line, polyline')) {
            const kind = mark.getAttribute('class') || '';
            if (/\\b(grid|bn-done-area)\\b/.test(kind)) continue;
            const m = mark.getScreenCTM();
            const length = mark.getTotalLength();
            for (let s = 0; s <= length; s += 1) {
                const p = mark.getPointAtLength(s);
                points.push({x: m.a * p.x + m.c * p.y + m.e, y: m.b * p.x + m.d * p.y + m.f,
                             kind});
            }
        }
        const name = svg.closest('figure').dataset.chart;
        texts.forEach((box, i) => {
            for (const p of points) {
                if (p.x > box.l + 1 && p.x < box.r - 1 && p.y > box.t + 1 && p.y < box.b - 1) {
                    out.push(`${name}: "${box.text}" crosses a ${p.kind} line`);
                    break;
                }
            }
            texts.slice(i + 1).forEach((other) => {
                if (box.l < other.r - 1 && other.l < box.r - 1 && box.t < other.b - 1
                    && other.t < box.b - 1) {
                    out.push(`${name}: "${box.text}" overlaps "${other.text}"`);
                }
            });
        });
    }
    return out;
}
"""
SQL_NAME = re.compile(r"\b(bi|marts|staging|intermediate|meta)\.[a-z_]+|\b(fct|dim|stg|int)_[a-z]")
