"""archspec: short YAML architecture specs compiled to Keras 3 functional models.

Importing archspec never imports TensorFlow or Keras; only building a model does.
"""

from archspec.api import ArchSpec, load
from archspec.errors import SpecError

__all__ = ["ArchSpec", "SpecError", "load"]
__version__ = "0.1.0"
