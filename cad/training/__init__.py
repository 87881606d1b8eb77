"""Training the shipped CAD models on synthetic DBT volumes (needs the ``train`` extra: torch, onnx).

``python -m cad.training --out resources/models`` (or ``make models``) regenerates the data set
from recon's phantoms and simulated acquisitions, trains both models, exports them to ONNX,
writes their manifests and model cards, and reports FROC on a held-out synthetic test set made
with different seeds, beside the classical baseline.
"""
