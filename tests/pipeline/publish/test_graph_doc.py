"""The networkx example of docs/bi.md ("The project graph") runs as written against a fresh
release, from a folder that holds exports/."""

from __future__ import annotations

import contextlib
import io
import re

from pipeline import warehouse
from pipeline.paths import PROJECT_ROOT
from pipeline.publish import exports


def _example() -> str:
    text = (PROJECT_ROOT / "docs" / "bi.md").read_text()
    section = text.split("## The project graph", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def test_the_networkx_example_runs_on_a_release(demo_db, tmp_path, monkeypatch):
    root = tmp_path / "exports"
    con = warehouse.connect(demo_db, read_only=True)
    try:
        manifest = exports.write_release(con, root, include_free_text=False)
        edges = con.execute("select count(*) from marts.graph_edges").fetchall()[0][0]
    finally:
        con.close()
    exports.swap_current(root, manifest["release_id"])
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(_example(), "docs/bi.md", "exec"), {})
    lines = printed.getvalue().splitlines()
    assert lines[0] == f"{manifest['graph']['nodes']} nodes, {edges} edges"
    assert re.fullmatch(r".+ waits on \d+ tasks", lines[1])
    assert lines[2] == "dependency cycles: []"  # the sandbox's dependencies point backwards
