"""JSON output that stays fast and readable for models of tens of thousands of layers.

``json.dumps(indent=2)`` falls back to the pure-Python encoder, which is several times
slower than the C one. Here the top level is laid out by hand and every item of a
list (a layer, a block, a change) is one compact line written by the C encoder, which
also makes the output easy to grep and diff.
"""

from __future__ import annotations

import json
from typing import Any

_ENCODER = json.JSONEncoder()


def dumps(data: dict[str, Any]) -> str:
    """``data`` as JSON: one key per line at the top, one line per list item below it."""
    lines = ["{"]
    items = list(data.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        head = f"  {json.dumps(key)}: "
        if isinstance(value, list) and value:
            lines.append(head + "[")
            lines.append("    " + ",\n    ".join(map(_ENCODER.encode, value)))
            lines.append(f"  ]{comma}")
        else:
            lines.append(head + json.dumps(value) + comma)
    lines.append("}")
    return "\n".join(lines)
