"""Frozen copy of nistats 0.0.1rc0 design-matrix code, used only as a test oracle.

See README.md in this folder for provenance and the exact patches applied.
"""
