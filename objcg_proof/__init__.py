"""objcg-prove: bounded proofs and readable counterexamples for lock-free kernel protocols.

The pipeline, one module per stage (ARCHITECTURE.md lists them):
parse (parser.py) -> resolve (resolve.py) -> unroll (unroll.py) -> encode (encode.py)
-> solve (solver.py, verify.py) -> decode (decode.py) -> report (report.py).
The semantics every stage implements is written down in docs/semantics.md.
"""

__version__ = "0.1.0"
