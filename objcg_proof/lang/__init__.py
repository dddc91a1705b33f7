"""The language front end: model text to a resolved program.

diagnostics (spans, errors, source lines) · syntax (the AST) · parser (lark, includes) ·
resolve (names, types, memory layout, the atomicity rule) · ir (the resolved program) ·
values (values printed as a kernel developer reads them). Nothing here knows about executions,
solvers or the command line.
"""
