"""The CI gate's data: the proof ledger (records of expected verdicts), the result cache, the
gate's reports (JUnit, SARIF, JSON) and files written whole or not at all. The `prove --record`
and `check` commands that use them are in cli/gate.py.
"""
