"""``python -m cache …`` entry point (see cache/cli.py)."""

from cache.cli import main

if __name__ == "__main__":
    main()
