"""``archspec draw``: a block-level diagram of a model, from its IR, without a framework.

The pipeline has one module per step:

- :mod:`~archspec.draw.hierarchy`: the nesting of stages and block calls over the layers;
- :mod:`~archspec.draw.blocks`: the boxes at a depth (repeats collapsed) and their edges;
- :mod:`~archspec.draw.labels`: the text a box shows, in human units;
- :mod:`~archspec.draw.fonts`, :mod:`~archspec.draw.style`: the font text is measured
  and drawn with, and the colours;
- :mod:`~archspec.draw.layout`: a layered top-to-bottom placement of boxes and edges;
- :mod:`~archspec.draw.svg`, :mod:`~archspec.draw.png`, :mod:`~archspec.draw.dot`,
  :mod:`~archspec.draw.mermaid`: one writer per output format;
- :mod:`~archspec.draw.formats`: which writer a file name asks for.
"""
