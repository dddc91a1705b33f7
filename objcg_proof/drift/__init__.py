"""Drift: does a model still mirror the C it names? The C side: a kernel file's functions as
statement lists (c_source.py), and the C a patch shows of a file, from its hunks (patch.py).
"""
