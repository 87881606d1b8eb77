"""Iterative reconstruction methods (SART, OS-SART, SIRT, MLEM, OSEM, TV).

``METHODS`` maps a command-line method name to a function
``f(projections, geometry, grid, *, projector=None, iterations=..., progress=None, cancel=None,
x0=None, **options) -> ndarray`` (float32, (nz, ny, nx), 1/mm). See each function for its
options and defaults:

========  ==========================================  ==========  ===========================
name      function                                    iterations  main options (defaults)
========  ==========================================  ==========  ===========================
sart      :func:`recon.iterative.sart.sart`           4           relaxation 0.5
os-sart   :func:`recon.iterative.sart.os_sart`        5           subsets ~n/3, relaxation 0.8
sirt      :func:`recon.iterative.sart.sirt`           20          relaxation 1.0
mlem      :func:`recon.iterative.mlem.mlem`           20          (multiplicative, from ones)
osem      :func:`recon.iterative.mlem.osem`           5           subsets ~n/3
tv        :func:`recon.iterative.tv.tv`               10          subsets = views (SART-TV),
                                                                  relaxation 0.5, tv_weight 2.0
                                                                  (x noise sigma), tv_iterations
                                                                  10, tv_z_weight 0.25
========  ==========================================  ==========  ===========================

Every method also takes ``memory_bytes`` (default 3 GB, the whole process): the memory plan
(:mod:`recon.iterative._memory`) then splits the back projection into slabs, stores the
sensitivities in float32 or float16 or recomputes them, and for ``tv`` stores the dual field in
float32 / int16 / int8 and runs the TV step in pieces of rows, so the GE-size case (0.9 GB of
volume) fits.
"""

from recon.iterative.mlem import mlem, osem
from recon.iterative.sart import os_sart, sart, sirt
from recon.iterative.tv import tv

METHODS: dict = {
    "sart": sart,
    "os-sart": os_sart,
    "sirt": sirt,
    "mlem": mlem,
    "osem": osem,
    "tv": tv,
}

__all__ = ["METHODS", "sart", "os_sart", "sirt", "mlem", "osem", "tv"]
