"""Iterative reconstruction methods (SART, OS-SART, SIRT, MLEM, OSEM, TV).

``METHODS`` maps a command-line method name to a function
``f(projections, geometry, grid, *, projector=None, progress=None, cancel=None, **options) -> ndarray``.
"""

METHODS: dict = {}
