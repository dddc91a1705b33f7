"""Many models at once: compile, check each (model, property) obligation here or in worker
processes, replay every counterexample on the reference interpreter (batch), and the progress
line on a terminal (progress).
"""
