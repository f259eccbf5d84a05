"""Commands defined in modules of their own, registered on the group in :mod:`archspec.cli`.

Each module defines one click command with the shared options of :mod:`archspec.cli`
and imports nothing heavy at import time: the command line starts without a framework.
"""
