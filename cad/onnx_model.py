"""Running one ONNX model on the CPU with onnxruntime, checked against its manifest."""

from __future__ import annotations

import numpy as np

from cad.errors import ModelError
from cad.manifest import ModelManifest

__all__ = ["OnnxModel"]


class OnnxModel:
    """An onnxruntime session for a manifest, with the manifest checked against the model.

    Parameters
    ----------
    manifest : ModelManifest
    threads : int
        Intra-op threads (default 2, the machine's cores).

    Raises
    ------
    cad.errors.ModelError
        When onnxruntime cannot load the file, or its inputs, outputs, opset or classes
        differ from the manifest.
    """

    def __init__(self, manifest: ModelManifest, *, threads: int = 2):
        import onnxruntime as ort

        if threads < 1:
            raise ValueError(f"OnnxModel: threads must be >= 1, got {threads}")
        self.manifest = manifest
        where = manifest.manifest_path or manifest.onnx_path
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(manifest.onnx_path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises several types; all mean "unusable model"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"{manifest.onnx_path}: onnxruntime cannot load the model: {first}") from None
        inputs = {i.name: i for i in self.session.get_inputs()}
        outputs = {o.name: o for o in self.session.get_outputs()}
        if manifest.input_name not in inputs:
            raise ModelError(f"{where}: model has no input {manifest.input_name!r} (it has {', '.join(inputs)})")
        if manifest.output_name not in outputs:
            raise ModelError(f"{where}: model has no output {manifest.output_name!r} (it has {', '.join(outputs)})")
        shape = inputs[manifest.input_name].shape
        if len(shape) != 4:
            raise ModelError(f"{where}: input {manifest.input_name!r} must be 4D (N, C, H, W), model has {shape}")
        if isinstance(shape[1], int) and shape[1] != manifest.channels:
            raise ModelError(f"{where}: model takes {shape[1]} channels, manifest says {manifest.channels}")
        if manifest.input_kind == "patch":
            for s in shape[2:]:
                if isinstance(s, int) and s != manifest.size:
                    raise ModelError(
                        f"{where}: model patch size {shape[2:]} differs from manifest size {manifest.size}"
                    )
        out_shape = outputs[manifest.output_name].shape
        if len(out_shape) >= 2 and isinstance(out_shape[1], int) and out_shape[1] != len(manifest.classes):
            raise ModelError(f"{where}: model returns {out_shape[1]} classes, manifest lists {len(manifest.classes)}")
        meta = self.session.get_modelmeta().custom_metadata_map
        if "opset" in meta and int(meta["opset"]) != manifest.opset:
            raise ModelError(f"{where}: model opset {meta['opset']} differs from manifest opset {manifest.opset}")
        if "classes" in meta and tuple(meta["classes"].split(",")) != manifest.classes:
            raise ModelError(f"{where}: model classes {meta['classes']} differ from manifest {list(manifest.classes)}")

    def run(self, batch: np.ndarray, *, max_batch: int = 256) -> np.ndarray:
        """Run the model on a float32 batch (N, C, H, W), in chunks of ``max_batch``."""
        if batch.dtype != np.float32:
            raise TypeError(f"OnnxModel.run: batch must be float32, got {batch.dtype}")
        outs = []
        for i in range(0, len(batch), max_batch):
            chunk = np.ascontiguousarray(batch[i : i + max_batch])
            outs.append(self.session.run([self.manifest.output_name], {self.manifest.input_name: chunk})[0])
        if not outs:
            return np.zeros((0, len(self.manifest.classes)), dtype=np.float32)
        return np.concatenate(outs, axis=0).astype(np.float32, copy=False)
