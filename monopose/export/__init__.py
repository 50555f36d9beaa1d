"""Interoperability: BVH animation export, a self-contained HTML viewer, ONNX model export."""
