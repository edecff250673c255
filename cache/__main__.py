"""``python -m cache …`` entry point (see cache/jobs/cli.py)."""

from cache.jobs.cli import main

if __name__ == "__main__":
    main()
