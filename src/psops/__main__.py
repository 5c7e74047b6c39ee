"""``python -m psops``."""

from psops.cli import run

run()
