"""Project status for AI agents: a read-only MCP server over the serving file, and the one
status function the `status` command and the server's `project_status` tool share."""
