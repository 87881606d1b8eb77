"""Reader of 2D mammograms: Digital Mammography X-Ray Image, For Presentation and For Processing."""

from __future__ import annotations

import numpy as np

from app.dicom import uids
from app.dicom.image2d import Mammogram
from app.dicom.readers.attrs import first_item, get_floats, get_text
from app.dicom.readers.base import Header, Loadable, ReaderPlugin, breast_identity
from app.dicom.readers.pixels import apply_mapping, decode_frames, value_mapping
from app.dicom.views import disk_flips, flips_from_patient_orientation
from app.errors import InputError

__all__ = ["MammogramReader", "SYNTHETIC_2D_LABELS"]

#: Vendor names of synthetic 2D images (reference dicom.md 4).
SYNTHETIC_2D_LABELS = ("C-VIEW", "V-PREVIEW", "S-VIEW", "INSIGHT 2D", "SYNTHETIC", "GENERATED_2D")


class MammogramReader(ReaderPlugin):
    """Digital Mammography X-Ray Image (For Presentation / For Processing), one file each."""

    name = "digital-mammography"
    kind = "image2d"

    def examine(self, headers: list[Header]) -> list[Loadable]:
        out = []
        for h in headers:
            if h.sop_class_uid in uids.MAMMO_2D_CLASSES and h.n_frames == 1:
                meta = breast_identity(h.ds)
                out.append(
                    Loadable(
                        reader=self.name,
                        kind=self.kind,
                        headers=[h],
                        confidence=0.9,
                        description=f"{meta['laterality'] or '?'} {meta['view'] or '?'} mammogram",
                    )
                )
        return out

    def load(self, loadable: Loadable, **options) -> Mammogram:
        path = loadable.headers[0].path
        ds = loadable.headers[0].ds
        stored = decode_frames(ds, path)
        if stored.shape[0] != 1:
            raise InputError(f"{path}: NumberOfFrames is {stored.shape[0]}; a 2D mammogram has one frame")
        slope, intercept, label = value_mapping(ds, 0)
        data = apply_mapping(stored[0], slope, intercept)
        meta = breast_identity(ds)
        flips = flips_from_patient_orientation(meta["patient_orientation"], meta["laterality"])
        if flips is None:
            flips = disk_flips(meta["laterality"]) if meta["laterality"] in ("R", "L") else (False, False)
            if meta["laterality"] not in ("R", "L"):
                meta["warnings"].append(f"{path}: laterality unknown; pixels kept in stored order")
        if flips[0]:
            data = data[::-1, :]
        if flips[1]:
            data = data[:, ::-1]
        spacing = get_floats(ds, "ImagerPixelSpacing") or get_floats(ds, "PixelSpacing")
        if spacing is None or len(spacing) != 2 or min(spacing) <= 0:
            raise InputError(f"{path}: ImagerPixelSpacing/PixelSpacing is missing or invalid")
        centre, width = get_floats(ds, "WindowCenter"), get_floats(ds, "WindowWidth")
        text = " ".join(
            get_text(ds, k).upper()
            for k in ("SeriesDescription", "ImageComments", "AcquisitionDeviceProcessingDescription")
        )
        try:
            image_type = [str(v).upper() for v in ds.get("ImageType", [])]
        except Exception:
            image_type = []
        meta.update(
            window=(centre[0] * slope + intercept, width[0] * abs(slope))
            if centre and width and width[0] > 0
            else None,
            presentation_intent=get_text(ds, "PresentationIntentType"),
            synthetic=any(label_ in text for label_ in SYNTHETIC_2D_LABELS) or "GENERATED_2D" in image_type,
            values=label,
            source_sop_instance_uids=[
                get_text(item, "ReferencedSOPInstanceUID") for item in (ds.get("SourceImageSequence") or [])
            ]
            if first_item(ds, "SourceImageSequence") is not None
            else [],
            paths=[str(path)],
        )
        return Mammogram(data=np.ascontiguousarray(data), pixel_mm=(spacing[0], spacing[1]), metadata=meta)
