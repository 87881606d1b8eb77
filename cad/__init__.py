"""Computer-aided detection on DBT volumes (ONNX inference, clustering, scores, FROC)."""
