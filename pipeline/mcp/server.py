"""The MCP server: the status tools and the metric definitions over the serving file, on the
official `mcp` SDK (MCPServer), over stdio or streamable HTTP on loopback.

Every call opens the serving file read-only and closes it (pipeline.mcp.source), so a publish
that swaps the file is seen by the next call and never fails one under way.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import duckdb
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resources import TextResource
from mcp.types import ToolAnnotations
from pydantic import Field

from pipeline.mcp import questions, status
from pipeline.mcp.metrics import METRICS_DOC, URI_PREFIX, metric_sections
from pipeline.mcp.source import Ambiguous, AnswerError, Source
from pipeline.publish.serving import SERVING_FILE

logger = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Read-only status of BuildOS projects from the published analytics. Start with "
    "find_projects to turn a name into a project id, then ask project_status, velocity, "
    "burndown or flow about it; at_risk_projects lists what needs attention. Every answer "
    "names its as-of time (the account's last sync): say it when you quote a number. The "
    f"definition of every metric is a resource under {URI_PREFIX}/."
)
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True)

Project = Annotated[
    str,
    Field(
        description="The project's id, or its full name in any case (find_projects finds it "
        "from part of a name)."
    ),
]
Account = Annotated[
    str | None,
    Field(description="Only this account (its id or label); default every account served."),
]
State = Literal["planning", "active", "paused", "completed", "cancelled"]


def _answer(source: Source, question: Callable, *args, **kwargs) -> dict:
    """Run one question on a fresh read-only connection; every failure becomes a tool error
    in words (the candidates listed for an ambiguous name), never a trace or SQL."""
    try:
        with source.open() as reader:
            return question(reader, *args, **kwargs)
    except Ambiguous as exc:
        lines = [str(exc) + ":"] + [
            f"- {c['project_id']}: {c['project_name']} ({c['project_state']}, account "
            f"{c['account_label']})"
            for c in exc.candidates
        ]
        raise ToolError("\n".join(lines)) from exc
    except AnswerError as exc:
        raise ToolError(str(exc)) from exc
    except duckdb.Error as exc:
        logger.exception("reading %s failed", source.path)
        raise ToolError(
            "the published data could not be read just now; try again (the server log has "
            "the details)"
        ) from exc


def build_server(source: Source) -> MCPServer:
    server = MCPServer(
        "buildos-analytics",
        title="BuildOS project status",
        instructions=INSTRUCTIONS,
        log_level="WARNING",
    )

    @server.tool(annotations=READ_ONLY)
    def find_projects(
        query: Annotated[str, Field(description="Part of the project's name; typos are fine.")],
        state: Annotated[State | None, Field(description="Only projects in this state.")] = None,
        account: Account = None,
    ) -> dict[str, Any]:
        """Search live projects by name (contains, or close to it), best match first: their
        ids, names, accounts, states and completion. Use the id in the other tools."""
        return _answer(source, questions.find_projects, query, state, account)

    @server.tool(annotations=READ_ONLY)
    def project_status(project: Project) -> dict[str, Any]:
        """The status of one project: state, completion %, blockers and why, the next
        milestone and days to it, recent updates in words (when free text is served), and
        whether it is at risk and why; as of its account's last sync (as_of_at)."""
        return _answer(source, status.project_status, project)

    @server.tool(annotations=READ_ONLY)
    def at_risk_projects(account: Account = None) -> dict[str, Any]:
        """Active and planning projects at risk (behind their ideal burndown, a missed
        milestone, or blocked work), each with its reasons, as of each account's last sync."""
        return _answer(source, questions.at_risk_projects, account)

    @server.tool(annotations=READ_ONLY)
    def velocity(
        project: Annotated[
            str | None, Field(description="A project id or full name; or give account.")
        ] = None,
        account: Annotated[
            str | None, Field(description="An account id or label: its projects summed.")
        ] = None,
        weeks: Annotated[int, Field(ge=1, le=104, description="How many ISO weeks back.")] = 6,
    ) -> dict[str, Any]:
        """Tasks and effort points completed per ISO week (Monday start) for the last `weeks`
        weeks up to the as-of week, for one project or for all of an account's projects;
        with the average per week."""
        return _answer(source, questions.velocity, project, account, weeks)

    @server.tool(annotations=READ_ONLY)
    def burndown(
        project: Project,
        days: Annotated[int, Field(ge=1, le=366, description="How many days back.")] = 14,
    ) -> dict[str, Any]:
        """A project's daily burndown and burnup for the last `days` days up to its as-of day:
        scope, completed, remaining, the ideal line, burn rate and projected completion."""
        return _answer(source, questions.burndown, project, days)

    @server.tool(annotations=READ_ONLY)
    def flow(
        project: Project,
        days: Annotated[
            int, Field(ge=1, le=366, description="Completions in this many days count.")
        ] = 90,
    ) -> dict[str, Any]:
        """A project's flow: cycle and lead time percentiles (p50, p85, p95) over tasks
        completed in the last `days` days, work in progress now by state, throughput over the
        last 7 days, and the oldest work items in progress or blocked."""
        return _answer(source, questions.flow, project, days)

    for section in metric_sections():
        server.add_resource(
            TextResource(
                uri=section.uri,
                name=section.slug,
                title=section.title.replace("`", ""),
                description=f"How {section.title.replace('`', '')} is defined (docs/metrics.md).",
                mime_type="text/markdown",
                text=section.text,
            )
        )
    server.add_resource(
        TextResource(
            uri=URI_PREFIX,
            name="metrics",
            title="Metric definitions",
            description="Every metric the answers use, defined in words with examples.",
            mime_type="text/markdown",
            text=METRICS_DOC.read_text(),
        )
    )
    return server


LOOPBACK = ("127.0.0.1", "::1", "localhost")
ACCOUNTS_ENV = "BUILDOS_MCP_ACCOUNTS"


def source_for(exports_dir: str, accounts: tuple[str, ...], include_free_text: bool) -> Source:
    """The serving file under the exports folder, bound to the given accounts (else those in
    BUILDOS_MCP_ACCOUNTS, a comma list; else every account in the file)."""
    if not accounts and os.environ.get(ACCOUNTS_ENV):
        accounts = tuple(a for a in os.environ[ACCOUNTS_ENV].split(","))
    bound = tuple(sorted({a.strip() for a in accounts if a.strip()})) or None
    return Source(Path(exports_dir) / SERVING_FILE, bound, include_free_text)


def serve(
    source: Source,
    transport: Literal["stdio", "http"],
    host: str = "127.0.0.1",
    port: int = 8765,
) -> None:
    """Serve until interrupted: stdio for a client that starts the server, or streamable HTTP
    at http://<host>:<port>/mcp."""
    if transport == "http" and host not in LOOPBACK:
        # No authentication: on another interface anyone could read every bound account.
        raise ValueError(f"the HTTP transport listens on loopback only, not {host!r}")
    server = build_server(source)
    if transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host=host, port=port)
