"""The memory plan of an iterative method: what is kept, in which precision, and in how many pieces.

An iterative method holds the projections ``y`` and the volume ``x`` (the result), the per-ray
weights ``1 / A·1`` (one projection set), and per step a few subset-size projection arrays.
What else it needs depends on the plan:

* the back projection of a subset's residual goes into a buffer of ``back_slices`` slices at a
  time (one projector per slab of slices: the projectors are exact per slice, so the pieces are
  the rows of the whole back projection), and is applied to ``x`` piece by piece;
* the per-subset voxel sensitivities ``A_Sᵀ m`` are stored in ``float32``, stored in
  ``float16`` (relative precision 2⁻¹¹, scaled by a power of two, so its effect on an update is
  below 5e-4 of the step), or recomputed with every update (one more back projection of the
  subset's ray mask per update: exact, about +50 % time);
* the TV method's dual field (2 or 3 volumes, each component in [-1, 1]) is stored in
  ``float32``, or quantised to ``int16`` or ``int8`` between TV steps (it only warm-starts the
  next step), and the TV step works on ``tv_rows`` rows at a time plus a halo (see
  :mod:`recon.iterative._prox`).

:func:`plan_memory` picks, in order of preference, the first combination of the last two
choices whose estimate fits in the budget with the largest pieces that fit: everything in one
piece and ``float32`` when it fits (small cases), then the same results in pieces, then
``float16`` sensitivities, then quantised duals and recomputed sensitivities. The estimate
counts the inputs and the result, and :data:`RESERVED_BYTES` for the interpreter and the
compiled kernels, so the budget is that of the whole process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from recon.iterative._prox import piece_floats

__all__ = ["MEMORY_BUDGET_BYTES", "RESERVED_BYTES", "MemoryPlan", "plan_memory"]

# Default budget of a whole reconstruction process (the GE-size case, 0.9 GB of volume and
# 0.26 GB of projections, fits every method in it).
MEMORY_BUDGET_BYTES = 3 * 10**9
# Interpreter, numpy, numba and the compiled kernels (measured: about 0.2 GB), plus headroom for
# small temporaries the estimate does not list (noise estimate, progress, projector tables).
RESERVED_BYTES = 300 * 10**6

SENSITIVITY_CHOICES = ("float32", "float16", "recompute")
DUAL_CHOICES = ("float32", "int16", "int8")
_SENS_BYTES = {"float32": 4, "float16": 2, "recompute": 0}
_DUAL_BYTES = {"float32": 4, "int16": 2, "int8": 1}
# (sensitivity, dual) in order of preference: exact and fast first
_LEVELS = (
    ("float32", "float32"),
    ("float16", "float32"),
    ("float16", "int16"),
    ("recompute", "float32"),
    ("recompute", "int16"),
    ("float16", "int8"),
    ("recompute", "int8"),
)


@dataclass(frozen=True)
class MemoryPlan:
    """How an iterative method spends its memory (see the module docstring).

    Attributes
    ----------
    budget_bytes : int
        The budget the plan was made for.
    back_slices : int
        Slices per piece of a back projection (``nz``: the whole volume at once).
    sensitivity : {"float32", "float16", "recompute"}
        Storage of the per-subset voxel sensitivities.
    dual : {"float32", "int16", "int8"} or None
        Storage of the TV dual field (None: no TV step).
    tv_rows : int
        Rows (along y) per piece of the TV step (``ny``: the whole volume at once).
    tv_halo : int
        Extra rows on each side of a TV piece (the TV iterations + 1; 0 without TV).
    workspace_floats : int
        Size of the work space shared by the slab buffers of the back projection and the
        pieces of the TV step (they never run at the same time), float32 values.
    estimate_bytes : int
        Estimated peak of the whole process under this plan.
    """

    budget_bytes: int
    back_slices: int
    sensitivity: str
    dual: str | None
    tv_rows: int
    tv_halo: int
    workspace_floats: int
    estimate_bytes: int

    def describe(self) -> str:
        """One line for logs and benchmarks."""
        parts = [f"back in {self.back_slices}-slice pieces", f"sensitivities {self.sensitivity}"]
        if self.dual is not None:
            parts.append(f"TV dual {self.dual}, TV in {self.tv_rows}-row pieces (halo {self.tv_halo})")
        return f"{', '.join(parts)}; estimate {self.estimate_bytes / 1e9:.2f} GB of {self.budget_bytes / 1e9:.2f} GB"


def _pieces(n: int, size: int) -> int:
    return math.ceil(n / max(1, min(n, size)))


def plan_memory(
    *,
    grid_shape: tuple[int, int, int],
    detector_shape: tuple[int, int],
    n_views: int,
    subset_sizes: list[int],
    budget_bytes: int = MEMORY_BUDGET_BYTES,
    tv_iterations: int | None = None,
    tv_components: int = 3,
    can_split: bool = True,
) -> MemoryPlan:
    """The memory plan of one run of an iterative method.

    Parameters
    ----------
    grid_shape : (nz, ny, nx)
    detector_shape : (nv, nu)
    n_views : int
    subset_sizes : list of int
        Number of views in each subset.
    budget_bytes : int
        Budget for the whole process (inputs and result included).
    tv_iterations : int, optional
        Chambolle iterations per TV step (None: no TV step).
    tv_components : int
        Components of the TV dual field (3 with a z term, 2 without).
    can_split : bool
        Whether the back projection can be split into slabs of slices (False for a projector
        that is not a ``recon.projectors.Projector``).

    Returns
    -------
    MemoryPlan
        The first plan of the order of preference that fits, or the leanest one when none fits.
    """
    nz, ny, nx = (int(s) for s in grid_shape)
    nvox = nz * ny * nx
    slice_b = ny * nx * 4
    pix_b = int(detector_shape[0]) * int(detector_shape[1]) * 4
    n_sub = len(subset_sizes)
    biggest = max(subset_sizes)
    # y, x, the ray weights; per update the forward projection of the subset and the projector's
    # own working copy of it (column sums); the ray mask of a subset while sensitivities are made
    fixed = RESERVED_BYTES + n_views * pix_b + nvox * 4 + n_views * pix_b + 2 * biggest * pix_b
    mask_b = biggest * pix_b
    tv = tv_iterations is not None
    halo = (tv_iterations + 1) if tv else 0

    def estimate(sens: str, dual: str | None, back: int, rows: int) -> int:
        bufs = 2 if sens == "recompute" else 1
        data_step = bufs * min(back, nz) * slice_b + (mask_b if sens == "recompute" else 0)
        setup = min(back, nz) * slice_b + mask_b
        stored = n_sub * nvox * _SENS_BYTES[sens]
        tv_step = 0
        if tv:
            stored += tv_components * nvox * _DUAL_BYTES[dual]
            if rows >= ny and dual == "float32":
                tv_step = 2 * ny * nx * 4  # in place: a ring of two slices
            else:
                tv_step = 4 * piece_floats(grid_shape, components=tv_components, rows=rows, halo=halo)
                tv_step += (tv_components + 1) * nz * halo * nx * 4  # originals of the next halo
        # the data step's slab buffers and the TV step's pieces share one work space
        return fixed + stored + max(data_step, setup, tv_step)

    min_back = nz if not can_split else 1
    min_rows = ny if not tv else min(ny, max(halo, 16))
    levels = []
    for sens, dual in _LEVELS:
        key = (sens, dual if tv else None)
        if key not in levels:
            levels.append(key)
    chosen = None
    for sens, dual in levels:
        if estimate(sens, dual, min_back, min_rows) <= budget_bytes:
            chosen = (sens, dual)
            break
    if chosen is None:  # nothing fits: the leanest plan, best effort
        sens, dual = levels[-1]
        back, rows = min_back, min_rows
    else:
        sens, dual = chosen
        # the largest pieces that fit (whole when possible), then balanced
        back = nz
        while back > min_back and estimate(sens, dual, back, min_rows) > budget_bytes:
            back = max(min_back, back - 1)
        back = math.ceil(nz / _pieces(nz, back))
        rows = ny
        while rows > min_rows and estimate(sens, dual, back, rows) > budget_bytes:
            rows = max(min_rows, int(rows * 0.9))
    work = (2 if sens == "recompute" else 1) * min(back, nz) * ny * nx
    if tv:
        if rows >= ny and dual == "float32":
            work = max(work, 2 * ny * nx)
        else:
            work = max(work, piece_floats(grid_shape, components=tv_components, rows=rows, halo=halo))
    return MemoryPlan(
        budget_bytes=int(budget_bytes),
        back_slices=int(back),
        sensitivity=sens,
        dual=dual,
        tv_rows=int(rows),
        tv_halo=int(halo),
        workspace_floats=int(work),
        estimate_bytes=int(estimate(sens, dual, back, rows)),
    )
