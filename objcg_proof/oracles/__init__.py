"""The independent checkers of the prover: the reference interpreter (explicit states,
counterexample replay, `simulate`) and the Promela export for SPIN. They share only the
language front end with the prover, never its stages.
"""
