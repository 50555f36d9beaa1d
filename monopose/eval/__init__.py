"""Evaluation: protocols (MPJPE, P-MPJPE, PCK, MRPE), multi-person matching, and evaluating
registered models on held-out data.

Nothing is imported here, so importing the package stays cheap.
"""
