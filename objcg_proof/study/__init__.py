"""Research commands over the prover: compare designs across a parameter sweep (compare), the
static cost of a common path (cost), and mutation analysis of a model's properties (mutate).
"""
