"""``python -m labmcp``: see labmcp.cli."""

from labmcp.cli import main

raise SystemExit(main())
