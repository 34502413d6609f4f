"""labmcp: a read-only MCP server for LabArchives electronic lab notebooks."""

__version__ = "0.1.0"
