"""``python -m archspec``: the same command line as ``archspec``."""

from archspec.cli import main

main()
