"""``python -m archspec``: the same command line as ``archspec``.

``python -m`` puts the current folder first on the module search path. archspec is
already imported by then; the folder is taken off so that a `keras.py` (or any
module) lying in it can never be imported in place of the real one, as the spec
files and model paths archspec reads there are data, not code.
"""

import os
import sys

if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from archspec.cli import main  # noqa: E402 - after the search path is made safe

main()
