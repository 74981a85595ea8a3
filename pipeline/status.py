"""One live project's status from the pipeline's DuckDB file, as the `status` command prints it."""

from __future__ import annotations

from pathlib import Path

import orjson


class StatusNotAnswered(Exception):
    """No project, or several, match; `lines` say which (the CLI prints them and exits 2)."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


def project_status_json(db: str | Path, project: str) -> str:
    """The answer the MCP tool project_status gives, as indented JSON. PROJECT is an id or a
    name in any case."""
    from pipeline.mcp.source import Ambiguous, AnswerError, Source
    from pipeline.mcp.status import project_status

    # The pipeline's own file holds the free text; whoever can read it may see it.
    try:
        with Source(Path(db), include_free_text=True).open() as reader:
            answer = project_status(reader, project)
    except Ambiguous as exc:
        raise StatusNotAnswered(
            [f"{exc}:"]
            + [
                f"  {c['project_id']}  {c['project_name']}  (account {c['account_label']})"
                for c in exc.candidates
            ]
        ) from exc
    except AnswerError as exc:
        raise StatusNotAnswered([str(exc)]) from exc
    return orjson.dumps(answer, option=orjson.OPT_INDENT_2).decode()
