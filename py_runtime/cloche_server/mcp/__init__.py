"""`cloche mcp`: the dist's tools for MCP clients outside the browser (docs/mcp.md)."""
