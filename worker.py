"""RQ worker entry point: `python worker.py [options]` is `marketsync worker [options]`."""

from __future__ import annotations

import sys

from cli.main import main

if __name__ == "__main__":
    sys.exit(main(["worker", *sys.argv[1:]]))
