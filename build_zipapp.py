"""Build dist/labmcp.pyz (issue 4). Not written yet: this stub says so instead of pretending."""

import sys

if __name__ == "__main__":
    sys.exit("build_zipapp.py: the zipapp build is not implemented yet (issue 4)")
