"""The dashboard's stylesheet, inlined into the page: colours are classes on each mark, so
screen, print and the PNG share them."""

CSS = """
:root { color-scheme: light; --ink: #0f172a; --muted: #64748b; --line: #e2e8f0;
  --panel: #ffffff; --page: #f1f5f9; --accent: #2563eb; --good: #047857; --bad: #b91c1c; }
* { box-sizing: border-box; }
html { background: var(--page); }
body { margin: 0; color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI",
  Roboto, "Helvetica Neue", Arial, "Liberation Sans", sans-serif;
  font-variant-numeric: tabular-nums; }
main { max-width: 1360px; margin: 0 auto; padding: 24px 28px 32px; }
header.top { display: flex; justify-content: space-between; align-items: flex-end; gap: 24px;
  padding-bottom: 14px; border-bottom: 3px solid var(--ink); margin-bottom: 18px; }
.brand { font-size: 12px; font-weight: 700; letter-spacing: .12em; text-transform: uppercase;
  color: var(--accent); margin: 0 0 2px; }
h1 { font-size: 26px; line-height: 1.15; margin: 0; letter-spacing: -.01em; }
.meta { text-align: right; color: var(--muted); font-size: 12.5px; margin: 0; }
.meta strong { color: var(--ink); font-weight: 600; }
h2 { font-size: 16px; margin: 0 0 10px; letter-spacing: -.005em; }
section { margin-bottom: 18px; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; }
.kpis { display: grid; grid-template-columns: repeat(4, 1fr); gap: 14px; margin: 0; padding: 0;
  list-style: none; }
.kpi { background: var(--panel); border: 1px solid var(--line); border-radius: 10px;
  padding: 14px 16px 13px; border-top: 4px solid var(--accent); }
.kpi.warn { border-top-color: #d97706; }
.kpi.ok { border-top-color: #059669; }
.kpi .label { font-size: 12px; font-weight: 600; color: var(--muted); text-transform: uppercase;
  letter-spacing: .06em; margin: 0; }
.kpi .value { font-size: 34px; font-weight: 700; line-height: 1.1; margin: 6px 0 4px; }
.kpi .value small { font-size: 15px; font-weight: 600; color: var(--muted); margin-left: 4px; }
.kpi .sub { font-size: 12.5px; color: var(--muted); margin: 0; }
.delta { font-weight: 700; }
.delta.up { color: var(--good); } .delta.down { color: var(--bad); }
.grid2 { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 14px; }
.grid4 { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 14px; }
figure.chart, .panel { margin: 0; background: var(--panel); border: 1px solid var(--line);
  border-radius: 10px; padding: 12px 14px 8px; break-inside: avoid; page-break-inside: avoid; }
figcaption { margin: 0 0 6px; }
figcaption .title { display: block; font-weight: 700; font-size: 14.5px; }
figcaption .desc { display: block; color: var(--muted); font-size: 12.5px; }
.h-note { font-size: 12px; font-weight: 400; color: var(--muted); margin-left: 10px; }
.burndown figcaption .title { font-size: 13.5px; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
figure.chart > svg { display: block; width: 100%; height: auto; overflow: visible; }
svg text { font-family: inherit; }
svg .tick { font-size: 11px; fill: #64748b; }
svg .value { font-size: 10.5px; fill: #334155; font-weight: 600; stroke: #fff;
  stroke-width: 3px; paint-order: stroke; stroke-linejoin: round; }
svg .note { font-size: 10px; fill: #64748b; font-style: italic; }
svg .grid { stroke: #e2e8f0; stroke-width: 1; }
svg .axis { stroke: #94a3b8; stroke-width: 1; }
svg .bar { fill: #2563eb; }
svg .bar.partial { fill: #bfdbfe; stroke: #2563eb; stroke-width: 1; stroke-dasharray: 3 2; }
svg .avg { fill: none; stroke: #d97706; stroke-width: 2.5; stroke-linejoin: round; }
svg .avg-dot { fill: #fff; stroke: #d97706; stroke-width: 2; }
svg .bd-processed { fill: #0f766e; } svg .bd-failed { fill: #dc2626; }
svg .bd-pending { fill: #fbbf24; }
svg .ahead { fill: #f1f5f9; }
svg .bn-done-area { fill: #d1fae5; stroke: none; }
svg .bn-done { fill: none; stroke: #059669; stroke-width: 1.5; }
svg .bn-scope { fill: none; stroke: #475569; stroke-width: 1.5; }
svg .bn-ideal { fill: none; stroke: #94a3b8; stroke-width: 1.5; stroke-dasharray: 5 4; }
svg .bn-remaining { fill: none; stroke: #2563eb; stroke-width: 2.5; stroke-linejoin: round; }
svg .bn-projection { fill: none; stroke: #2563eb; stroke-width: 2; stroke-dasharray: 2 3; }
svg .bn-projection-dot { fill: #fff; stroke: #2563eb; stroke-width: 2; }
svg .bn-today { fill: #2563eb; stroke: #fff; stroke-width: 1.5; }
svg .bn-end { stroke: #d97706; stroke-width: 1.5; stroke-dasharray: 4 3; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; list-style: none; margin: 0 0 8px;
  padding: 0; font-size: 12px; color: #334155; }
.legend li { display: inline-flex; align-items: center; gap: 6px; }
.legend li > svg { width: 22px; height: 12px; flex: none; }
.section-head { display: flex; justify-content: space-between; align-items: baseline;
  gap: 16px; flex-wrap: wrap; }
.section-head .legend { margin: 0 0 10px; }
.empty { display: flex; flex-direction: column; align-items: center; justify-content: center;
  min-height: 150px; border: 2px dashed var(--line); border-radius: 8px; color: var(--muted);
  text-align: center; padding: 16px; margin: 4px 0 8px; }
.empty strong { color: #334155; font-size: 15px; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
caption { text-align: left; color: var(--muted); font-size: 12.5px; padding-bottom: 8px; }
th { text-align: left; font-size: 11.5px; text-transform: uppercase; letter-spacing: .05em;
  color: var(--muted); font-weight: 600; border-bottom: 2px solid var(--line);
  padding: 6px 10px; }
td { padding: 5px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
tr:last-child td { border-bottom: none; }
th.num, td.num { text-align: right; }
td.num { white-space: nowrap; }
td.name { font-weight: 600; }
td.name .state { font-weight: 400; color: var(--muted); font-size: 12px; margin-left: 6px; }
.tag { display: inline-block; padding: 1px 8px; margin: 1px 4px 1px 0; border-radius: 999px;
  font-size: 12px; background: #fee2e2; color: #991b1b; white-space: nowrap; }
.tag.milestone { background: #fef3c7; color: #92400e; }
.tag.blocked { background: #ede9fe; color: #5b21b6; }
.hot { color: var(--bad); font-weight: 700; }
.never { color: var(--muted); font-style: italic; }
.status { display: inline-block; padding: 1px 8px; border-radius: 4px; font-size: 12px;
  font-weight: 700; white-space: nowrap; }
.status.overdue { background: #b91c1c; color: #fff; }
.status.at-risk { background: #fef3c7; color: #92400e; }
footer a { color: var(--accent); }
section.flow h2 { margin-bottom: 6px; }
.stats { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 14px;
  list-style: none; margin: 0; padding: 0; }
.stat .label { font-size: 12px; font-weight: 600; color: var(--muted); text-transform: uppercase;
  letter-spacing: .06em; margin: 0; }
.stat .value { font-size: 24px; font-weight: 700; margin: 2px 0; }
.stat .sub { font-size: 12.5px; color: var(--muted); margin: 0; }
.more { color: var(--muted); font-size: 12.5px; margin: 8px 0 0; }
footer { color: var(--muted); font-size: 12px; border-top: 1px solid var(--line);
  padding-top: 10px; margin-top: 8px; }
section.risk { overflow-x: auto; }
section.panel { margin-bottom: 18px; }
@media (max-width: 1100px) { .grid4 { grid-template-columns: 1fr 1fr; } }
@media (max-width: 980px) { .grid2 { grid-template-columns: 1fr; }
  .kpis { grid-template-columns: 1fr 1fr; } }
@media (max-width: 640px) {
  .kpis, .grid2, .grid4 { grid-template-columns: 1fr; }
  header.top { display: block; } .meta { text-align: left; margin-top: 8px; } }
@page { size: A4 portrait; margin: 10mm; }
@media print {
  html, body { background: #fff; }
  body { font-size: 11px; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  main { max-width: none; padding: 0; }
  header.top { display: flex; } .meta { text-align: right; }
  .kpis { grid-template-columns: repeat(4, 1fr); gap: 8px; }
  .grid2 { grid-template-columns: 1fr; gap: 8px; }
  .grid4 { grid-template-columns: 1fr 1fr; gap: 8px; }
  .kpi { padding: 8px 10px; }
  .kpi .value { font-size: 24px; }
  figure.chart, .panel { border-color: #cbd5e1; }
  table { font-size: 10px; } th, td { padding: 3px 5px; } th { font-size: 9px; }
  td.num, .tag { white-space: normal; }
  .tag { font-size: 10px; padding: 0 5px; border-radius: 4px; }
  section.risk { overflow: visible; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; } }
"""
