"""De-identification per the PS3.15 Basic Application Level Confidentiality Profile.

The per-attribute actions come from PS3.15 Table E.1-1 as transcribed by the
``dicom-anonymizer`` package (``dicomfields_2026c``); the actions are applied here, walking
every sequence item:

* ``D`` replace with a dummy of the same VR (Patient's Name / Patient ID get a pseudonym);
* ``Z`` empty; ``X`` remove; ``K`` keep; ``U`` replace the UID;
* ``X/Z`` and ``Z/D`` are emptied, ``X/D`` and ``X/Z/D`` get a dummy (both keep the IODs we
  write conformant), ``X/Z/U*`` get UIDs replaced;
* private attributes are removed; attributes of sequences the table does not name are
  cleaned inside their items (the "K ... cleaned for sequences" rule);
* Patient Identity Removed = YES, De-identification Method and its code (113100, DCM) are added.

UIDs are replaced consistently: the same original UID always maps to the same new one for a
given :class:`Deidentifier` (a keyed hash, so two runs with the same ``key`` agree too).
References between objects of a study (Source Image Sequence, Frame of Reference, Study and
Series Instance UIDs) therefore still hold after de-identification.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

from app.dicom.identity import UID_PREFIX
from app.errors import InputError

__all__ = ["Deidentifier", "deidentify_dataset", "deidentify_files", "profile_actions"]

_DUMMY_DA = "19000101"
_DUMMY_TM = "000000"
_DUMMY_DT = "19000101000000"

_CATEGORY_ACTION = {
    "D_TAGS": "D",
    "Z_TAGS": "Z",
    "X_TAGS": "X",
    "U_TAGS": "U",
    "Z_D_TAGS": "Z",
    "X_Z_TAGS": "Z",
    "X_D_TAGS": "D",
    "X_Z_D_TAGS": "D",
    "X_Z_U_STAR_TAGS": "U",
}

_ACTIONS: tuple[dict[int, str], list[tuple[int, int, int, int, str]]] | None = None


def profile_actions() -> tuple[dict[int, str], list[tuple[int, int, int, int, str]]]:
    """The Basic Profile actions: {tag: action} and masked ranges (group, element, gmask, emask, action)."""
    global _ACTIONS
    if _ACTIONS is None:
        from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector

        table = dicom_anonymization_database_selector("dicomfields_2026c")
        exact: dict[int, str] = {}
        masked = []
        for category, action in _CATEGORY_ACTION.items():
            for entry in table[category]:
                if len(entry) == 2:
                    exact[(entry[0] << 16) | entry[1]] = action
                else:
                    masked.append((entry[0], entry[1], entry[2], entry[3], action))
        _ACTIONS = (exact, masked)
    return _ACTIONS


# stricter than the table for free text inside SR content (its Content Sequence is D)
_EXTRA = {0x0040A160: "D"}  # Text Value
# Z in the table; we put a pseudonym there (a Z attribute may hold a dummy value)
_PSEUDONYMS = (0x00100010, 0x00100020)


def _action_for(tag: int) -> str | None:
    exact, masked = profile_actions()
    if int(tag) in _PSEUDONYMS:
        return "D"
    action = _EXTRA.get(int(tag)) or exact.get(int(tag))
    if action is not None:
        return action
    group, element = int(tag) >> 16, int(tag) & 0xFFFF
    for g, e, gm, em, act in masked:
        if group & gm == g & gm and element & em == e & em:
            return act
    return None


@dataclass
class Deidentifier:
    """Applies the Basic Profile with pseudonyms and UIDs consistent across calls.

    Parameters
    ----------
    key : str, optional
        Secret for the keyed hashes behind new UIDs and pseudonyms; default random (a new
        mapping per Deidentifier). Keep it to de-identify later objects of the same study
        consistently; never store it with the output.
    patient_name : str, optional
        Pseudonymous Patient's Name; default ``Anonymous^<pseudonym>``.
    patient_id : str, optional
        Pseudonymous Patient ID; default ``ANON-`` + a keyed hash of the original ID.
    """

    key: str = field(default_factory=lambda: secrets.token_hex(16))
    patient_name: str | None = None
    patient_id: str | None = None
    uid_map: dict[str, str] = field(default_factory=dict)

    def _hash(self, text: str) -> str:
        return hmac.new(self.key.encode(), text.encode(), hashlib.sha256).hexdigest()

    def uid(self, old: str) -> str:
        """The replacement of one UID (the same for the same UID and key)."""
        old = str(old).strip()
        if old not in self.uid_map:
            self.uid_map[old] = generate_uid(prefix=UID_PREFIX, entropy_srcs=[self.key, old])
        return self.uid_map[old]

    def pseudonym(self, original_id: str) -> str:
        return "ANON-" + self._hash(f"patient:{original_id}")[:10].upper()

    # -- actions ----------------------------------------------------------------------
    def _dummy(self, elem, root: Dataset) -> None:
        vr = elem.VR
        if vr == "SQ":
            self._clean_sequence(elem, root)
        elif vr == "UI":
            self._replace_uid(elem)
        elif vr == "DA":
            elem.value = _DUMMY_DA
        elif vr == "TM":
            elem.value = _DUMMY_TM
        elif vr == "DT":
            elem.value = _DUMMY_DT
        elif vr == "AS":
            elem.value = "000Y"
        elif vr in ("DS", "IS"):
            elem.value = "0"
        elif vr in ("FD", "FL", "SS", "US", "SL", "UL", "SV", "UV"):
            elem.value = 0
        elif vr == "PN":
            elem.value = "Anonymous"
        elif vr == "CS":
            elem.value = "ANONYMIZED"
        elif vr in ("OB", "OW", "UN", "OD", "OF", "OL", "OV"):
            elem.value = b""
        elif vr == "UR":
            elem.value = "http://anonymized.invalid"
        else:
            elem.value = "ANONYMIZED"

    @staticmethod
    def _empty(elem) -> None:
        # dates and times get a dummy instead of nothing: some IODs make them Type 1
        # (Content Date/Time in multi-frame images); Z allows a dummy value
        dummy = {"DA": _DUMMY_DA, "TM": _DUMMY_TM, "DT": _DUMMY_DT}.get(elem.VR)
        if dummy is not None:
            elem.value = dummy if elem.value not in (None, "") else elem.value
        elif elem.VR == "SQ":
            elem.value = Sequence()
        elif elem.VR in ("FD", "FL", "SS", "US", "SL", "UL", "SV", "UV", "OB", "OW", "UN", "OD", "OF", "OL", "OV"):
            elem.value = b"" if elem.VR.startswith("O") or elem.VR == "UN" else None
        else:
            elem.value = ""

    def _replace_uid(self, elem) -> None:
        value = elem.value
        if value is None or value == "":
            return
        if isinstance(value, str):
            elem.value = self.uid(value)
        else:
            elem.value = [self.uid(v) for v in value]

    def _clean_sequence(self, elem, root: Dataset) -> None:
        for item in elem.value or []:
            self._clean(item, root)

    def _clean(self, ds: Dataset, root: Dataset) -> None:
        for tag in list(ds.keys()):
            elem = ds[tag]
            if elem.tag.is_private:
                del ds[tag]
                continue
            action = _action_for(elem.tag)
            if action == "X":
                del ds[tag]
            elif action == "Z":
                self._empty(elem)
            elif action == "D":
                self._dummy(elem, root)
            elif action == "U":
                if elem.VR == "SQ":
                    self._clean_sequence(elem, root)
                else:
                    self._replace_uid(elem)
            elif elem.VR == "SQ":  # K, or not in the table: keep, cleaned inside
                self._clean_sequence(elem, root)

    def dataset(self, ds: Dataset) -> Dataset:
        """A de-identified copy of ``ds`` (the input is not changed)."""
        if not isinstance(ds, Dataset):
            raise TypeError("Deidentifier.dataset: ds must be a pydicom Dataset")
        out = copy.deepcopy(ds)
        original_id = str(out.get("PatientID", ""))
        self._clean(out, out)
        if "PatientName" in out:
            out.PatientName = self.patient_name or f"Anonymous^{self.pseudonym(original_id)}"
        if "PatientID" in out:
            out.PatientID = self.patient_id or self.pseudonym(original_id)
        out.PatientIdentityRemoved = "YES"
        out.DeidentificationMethod = "PS3.15 E.1 Basic Profile (Crescent)"
        code = Dataset()
        code.CodeValue = "113100"
        code.CodingSchemeDesignator = "DCM"
        code.CodeMeaning = "Basic Application Confidentiality Profile"
        out.DeidentificationMethodCodeSequence = Sequence([code])
        meta = getattr(out, "file_meta", None)
        if meta is not None and "SOPInstanceUID" in out:
            meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
        return out

    def file(self, src, dst) -> Path:
        """De-identify one file into ``dst``; InputError for unreadable input."""
        src, dst = Path(src), Path(dst)
        try:
            ds = pydicom.dcmread(src)
        except Exception as exc:
            raise InputError(f"{src}: not a readable DICOM file ({type(exc).__name__})") from None
        out = self.dataset(ds)
        dst.parent.mkdir(parents=True, exist_ok=True)
        out.save_as(dst, enforce_file_format=True)
        return dst


def deidentify_dataset(ds: Dataset, *, deidentifier: Deidentifier | None = None) -> Dataset:
    """A de-identified copy of one dataset (see :class:`Deidentifier`)."""
    return (deidentifier or Deidentifier()).dataset(ds)


def deidentify_files(paths, out_dir, *, deidentifier: Deidentifier | None = None) -> list[Path]:
    """De-identify files (a study: UIDs and pseudonyms stay consistent) into ``out_dir``.

    Output files are named by their new SOP Instance UID. Returns the written paths.
    """
    deid = deidentifier or Deidentifier()
    out_dir = Path(out_dir)
    written = []
    for src in paths:
        src = Path(src)
        try:
            ds = pydicom.dcmread(src)
        except Exception as exc:
            raise InputError(f"{src}: not a readable DICOM file ({type(exc).__name__})") from None
        out = deid.dataset(ds)
        dst = out_dir / f"{out.get('SOPInstanceUID', src.stem)}.dcm"
        dst.parent.mkdir(parents=True, exist_ok=True)
        out.save_as(dst, enforce_file_format=True)
        written.append(dst)
    return written
