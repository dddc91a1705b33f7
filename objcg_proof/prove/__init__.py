"""The prover: a resolved program to verdicts, one stage per module.

terms (symbolic words) · events (the unrolled program) · unroll (threads to steps and events) ·
encode (executions and properties as z3 constraints; the memory model is its own module) ·
solver (the only z3 solver) · verify (one query per property) · decode (z3 model to a trace) ·
verdict (results as plain data). Imports only the language front end.
"""
