"""Drive `python -m pipeline mcp` with the SDK's own client, over stdio or streamable HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

START_DEADLINE_SECONDS = 60


def server_args(exports: Path, *options: str) -> list[str]:
    return ["-m", "pipeline", "mcp", "--exports", str(exports), *options]


@asynccontextmanager
async def stdio_session(exports: Path, cwd: Path, *options: str) -> AsyncIterator[ClientSession]:
    """A client session with a server the client starts itself, as an MCP client does."""
    params = StdioServerParameters(
        command=sys.executable, args=server_args(exports, *options), cwd=str(cwd)
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def http_server(exports: Path, cwd: Path, *options: str) -> Iterator[str]:
    """`mcp --transport http` on a free loopback port; yields its URL once it accepts."""
    port = free_port()
    http = ("--transport", "http", "--port", str(port))
    process = subprocess.Popen(
        [sys.executable, *server_args(exports, *http, *options)],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while True:
            assert process.poll() is None, process.stderr.read()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the HTTP server did not start"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@asynccontextmanager
async def http_session(url: str) -> AsyncIterator[ClientSession]:
    async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


async def answer(session: ClientSession, tool: str, **arguments) -> dict:
    """A tool's structured answer; fails the test on a tool error."""
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, text_of(result)
    return result.structured_content


async def refusal(session: ClientSession, tool: str, **arguments) -> str:
    """A tool error's text; fails the test if the call succeeded. The text is for a person:
    never a traceback or SQL."""
    result = await session.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    text = text_of(result)
    for leak in ("Traceback", "select ", "marts.", "duckdb", 'File "'):
        assert leak not in text, text
    return text


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")
