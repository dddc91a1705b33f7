"""objcg-prove: bounded proofs and readable counterexamples for lock-free kernel protocols.

The pipeline, one module per stage (ARCHITECTURE.md lists them):
parse (lang/parser.py) -> resolve (lang/resolve.py) -> unroll (prove/unroll.py) -> encode (prove/encode.py)
-> solve (prove/solver.py, prove/verify.py) -> decode (prove/decode.py) -> report (cli/report.py).
The semantics every stage implements is written down in docs/semantics.md.
"""

__version__ = "0.1.0"
