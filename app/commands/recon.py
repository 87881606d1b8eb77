"""``crescent recon``: reconstruct a DBT volume from projections.

INPUT is a projection DICOM file (Breast Projection X-Ray, For Processing or line integrals),
a folder of projection files, a ``crescent phantom`` folder (``projections.dcm`` and
``truth.json``: its detector offset and I0 are used), or a ``.npz`` file with the keys

``projections``
    float32 (views, rows, columns): rows along the tube motion (y), columns chest wall to
    nipple (x).
``is_line_integral``
    bool (default true); raw signal is converted with ``-log((I - dark) / i0)``.
``i0``, ``dark``
    optional scalars or per-view vectors for raw signal.
``thickness_mm``
    compressed breast thickness (or give ``--thickness-mm``).
geometry
    either ``preset`` (a system name, with optional ``pixel_mm``) or the Geometry fields
    ``source_mm``, ``detector_origin_mm``, ``detector_u_dir``, ``detector_v_dir``,
    ``pixel_mm`` (row, column pitch), ``angles_rad`` and optional ``support_height_mm``.

OUT is a Breast Tomosynthesis Image (``.dcm``) or ``.npz`` (keys ``volume`` float32
(slices, rows, columns) in 1/mm, ``voxel_mm`` (dz, dy, dx), ``origin_mm`` (z0, y0, x0),
``method``). The default grid: ``--slice-mm`` slices (1 mm) from the breast support to the
compressed thickness, ``--pixel-mm`` in-plane (the detector pitch), over the breast's
shadow in the central view.
"""

from __future__ import annotations

import json
from pathlib import Path

NAME = "recon"
HELP = "reconstruct a tomosynthesis volume from projections (DICOM, a phantom folder or .npz)"
DESCRIPTION = __doc__
METHOD_NAMES = ("fbp", "sart", "os-sart", "sirt", "mlem", "osem", "tv")


def add_arguments(parser) -> None:
    parser.add_argument("input", metavar="INPUT", help="projection file, folder of projections, phantom folder or .npz")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="output volume: .dcm (default) or .npz")
    parser.add_argument("--method", default="fbp", type=str.lower, metavar="NAME", help=f"{', '.join(METHOD_NAMES)}")
    parser.add_argument("--iterations", type=int, metavar="N", help="iterations of an iterative method")
    parser.add_argument("--slice-mm", type=float, default=1.0, metavar="S", help="slice spacing, mm (default 1)")
    parser.add_argument("--pixel-mm", type=float, metavar="P", help="in-plane voxel size, mm (default detector pitch)")
    parser.add_argument("--thickness-mm", type=float, metavar="T", help="compressed thickness when the input lacks it")
    parser.add_argument("--preview", action="store_true", help="quick look: 2x2-binned projections, 2 mm slices")
    parser.add_argument("--full-detector", action="store_true", help="grid over the whole detector, not the breast")


def _positive(name: str, value) -> None:
    from app.errors import InputError

    if value is not None and not (value == value and 0 < value < 1e4):
        raise InputError(f"{name} {value}: must be a positive number")


def _read_npz(path: Path):
    """A ProjectionSet from the documented .npz layout."""
    import numpy as np

    from app.errors import InputError
    from recon import Geometry, ProjectionSet, preset_geometry

    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable .npz file ({exc})") from None
    if "projections" not in z:
        raise InputError(f"{path}: no 'projections' array")
    data = np.asarray(z["projections"])
    if data.ndim != 3:
        raise InputError(f"{path}: 'projections' must be (views, rows, columns), got shape {data.shape}")
    n, nv, nu = data.shape
    try:
        if "preset" in z:
            pix = float(z["pixel_mm"]) if "pixel_mm" in z and np.ndim(z["pixel_mm"]) == 0 else None
            geom = preset_geometry(str(z["preset"]), detector_shape=(nv, nu), pixel_mm=pix, n_views=n)
        else:
            missing = [
                k
                for k in ("source_mm", "detector_origin_mm", "detector_u_dir", "detector_v_dir", "pixel_mm")
                if k not in z
            ]
            if missing:
                raise InputError(f"{path}: geometry needs 'preset' or the fields {', '.join(missing)}")
            geom = Geometry(
                source_mm=z["source_mm"],
                detector_origin_mm=z["detector_origin_mm"],
                detector_u_dir=z["detector_u_dir"],
                detector_v_dir=z["detector_v_dir"],
                pixel_mm=tuple(np.broadcast_to(z["pixel_mm"], (2,))),
                detector_shape=(nv, nu),
                angles_rad=z["angles_rad"] if "angles_rad" in z else np.zeros(n),
                support_height_mm=float(z["support_height_mm"]) if "support_height_mm" in z else 0.0,
                name="npz",
            )
    except ValueError as exc:
        raise InputError(f"{path}: bad geometry ({exc})") from None
    meta = {"source_file": str(path)}
    if "thickness_mm" in z:
        meta["thickness_mm"] = float(z["thickness_mm"])
    line = bool(z["is_line_integral"]) if "is_line_integral" in z else True
    pset = ProjectionSet(data=data.astype(np.float32), geometry=geom, is_line_integral=line, metadata=meta)
    calib = {k: np.asarray(z[k], dtype=np.float64) for k in ("i0", "dark") if k in z}
    return pset, calib


def _read_input(path: Path):
    """(ProjectionSet, calibration dict) from any supported INPUT."""
    from app.dicom import read_projection_set
    from app.errors import InputError

    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_file() and path.suffix.lower() == ".npz":
        return _read_npz(path)
    calib = {}
    truth = path / "truth.json" if path.is_dir() else None
    if truth is not None and truth.is_file():  # a `crescent phantom` folder
        try:
            info = json.loads(truth.read_text())
            acq = info["acquisition"]
            dark = acq.get("dark_offset_adu")
            i0 = acq.get("i0_adu")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{truth}: not a crescent phantom truth file ({type(exc).__name__}: {exc})") from None
        import numpy as np

        if dark is not None:
            calib["dark"] = np.asarray(dark, dtype=np.float64)
        if i0 is not None:
            calib["i0"] = np.asarray(i0, dtype=np.float64) - (calib.get("dark", 0.0))
        proj_file = path / info.get("projections", {}).get("file", "projections.dcm")
        pset = read_projection_set(proj_file if proj_file.is_file() else path)
        if pset.metadata.get("thickness_mm") is None and "thickness_mm" in info:
            pset.metadata["thickness_mm"] = float(info["thickness_mm"])
        return pset, calib
    return read_projection_set(path), calib


def breast_extent_mm(projections, geometry, *, margin_mm: float = 5.0) -> tuple[float, float]:
    """(extent along x from the chest wall, full width along y centred) of the breast's shadow.

    From the view nearest 0 degrees: pixels whose line integral exceeds a tenth of the
    99th percentile. The shadow is magnified, so the extent is conservative.
    """
    import numpy as np

    v = int(np.argmin(np.abs(geometry.angles_rad)))
    img = projections[v]
    thr = max(0.05, 0.1 * float(np.percentile(img, 99)))
    rows, cols = np.nonzero(img > thr)
    size_v, size_u = geometry.detector_size_mm
    if rows.size == 0:
        return size_u, size_v
    centres = geometry.pixel_centers_mm(v)
    pts = centres[rows[:: max(1, rows.size // 100000)], cols[:: max(1, cols.size // 100000)]]
    x_max = float(pts[:, 0].max()) - float(geometry.detector_origin_mm[v, 0]) + margin_mm
    y_half = float(np.abs(pts[:, 1]).max()) + margin_mm
    return min(x_max, size_u), min(2 * y_half, size_v)


def display_window(data, *, step: int = 4) -> tuple[float, float]:
    """(centre, width) spanning the 1st-99th percentile of the volume, from every ``step``-th row and column.

    The same window the BTO writer would choose, at a sixteenth of the cost of a percentile
    over every voxel (seconds for a clinical volume).
    """
    import numpy as np

    lo, hi = np.percentile(data[:, ::step, ::step], [1.0, 99.0])
    return (float(lo) + float(hi)) / 2.0, max(float(hi) - float(lo), 1e-6)


def _write_npz(volume, path: Path) -> None:
    import numpy as np

    np.savez(
        path,
        volume=volume.data,
        voxel_mm=np.array(volume.grid.voxel_mm),
        origin_mm=np.array(volume.grid.origin_mm),
        method=str(volume.metadata.get("method", "")),
    )


def run(args) -> int:

    from app.errors import CrescentError, InputError
    from app.progress import TerminalProgress

    out = Path(args.output)
    if out.suffix.lower() not in (".dcm", ".npz"):
        raise InputError(f"-o {args.output}: the output must end in .dcm or .npz")
    if not out.parent.exists():
        raise InputError(f"-o {args.output}: folder {out.parent} does not exist")
    if args.method not in METHOD_NAMES:
        raise InputError(f"--method {args.method}: unknown method; choose one of {', '.join(METHOD_NAMES)}")
    if args.iterations is not None:
        if args.method == "fbp":
            raise InputError("--iterations: applies to iterative methods, not fbp")
        if args.iterations < 1:
            raise InputError(f"--iterations {args.iterations}: must be >= 1")
    _positive("--slice-mm", args.slice_mm)
    _positive("--pixel-mm", args.pixel_mm)
    _positive("--thickness-mm", args.thickness_mm)

    from recon import ProjectionSet, VolumeGrid, reconstruct
    from recon.preprocess import line_integrals

    pset, calib = _read_input(Path(args.input))
    if not pset.is_line_integral:
        try:
            data = line_integrals(pset.data, i0=calib.get("i0"), dark=calib.get("dark"))
        except ValueError as exc:
            raise InputError(f"{args.input}: cannot convert to line integrals ({exc})") from None
        pset = ProjectionSet(data=data, geometry=pset.geometry, exposure_mas=pset.exposure_mas, metadata=pset.metadata)
    geometry = pset.geometry
    thickness = args.thickness_mm or pset.metadata.get("thickness_mm")
    if not thickness:
        raise InputError(f"{args.input}: no compressed breast thickness (Body Part Thickness); give --thickness-mm")
    if args.full_detector:
        ex, ey = None, None
    else:
        ex, ey = breast_extent_mm(pset.data, geometry)
    try:
        grid = VolumeGrid.for_geometry(
            geometry, float(thickness), slice_mm=args.slice_mm, pixel_mm=args.pixel_mm, extent_x_mm=ex, extent_y_mm=ey
        )
    except ValueError as exc:
        raise InputError(f"grid: {exc}") from None
    options = {} if args.iterations is None else {"iterations": args.iterations}
    progress = TerminalProgress(f"recon {args.method}")
    try:
        volume = reconstruct(pset, None, grid, method=args.method, preview=args.preview, progress=progress, **options)
    except MemoryError:
        raise CrescentError(
            f"not enough memory for a {grid.shape[0]} x {grid.shape[1]} x {grid.shape[2]} volume; "
            "try --preview, larger --pixel-mm or --slice-mm"
        ) from None
    from app.dicom.writers.pixels import value_range

    try:
        value_range(volume.data)  # min/max propagate NaN and inf: no volume-sized temporary
    except ValueError:
        raise CrescentError(f"{args.method}: the reconstruction contains non-finite values") from None
    if out.suffix.lower() == ".npz":
        _write_npz(volume, out)
    else:
        from app.dicom import PatientStudy, write_tomosynthesis

        study = pset.metadata.get("study") or PatientStudy()
        write_tomosynthesis(
            volume,
            out,
            study=study,
            projections=pset,
            window=display_window(volume.data),
            algorithm=args.method.upper(),
            algorithm_description=f"Crescent {args.method}" + (" preview" if args.preview else ""),
            parameters={"slice_mm": volume.grid.voxel_mm[0], "pixel_mm": volume.grid.voxel_mm[2], **options},
        )
    print(f"{out}: {volume.grid.shape[0]} slices of {volume.grid.shape[1]} x {volume.grid.shape[2]} ({args.method})")
    return 0
