"""`objcg-prove drift`: do the models still mirror the kernel C they name?

    objcg-prove drift --kernel-tree DIR [--json] [--sarif FILE] MODEL...
    objcg-prove drift --patch FILE [--json] [--sarif FILE] MODEL...

Each model's `mirrors` declarations name C functions (lang/syntax.py MirrorsDecl); each such
function is parsed from DIR/FILE (drift/c_source.py, tree-sitter's C grammar), or, with
`--patch`, from the C a patch's hunks show of that file (drift/patch.py post_image), and held
against the procedure's mirror lines (drift/compare.py, NOTE(drift-findings)). One line per
finding, `MODEL:LINE: C-FILE:LINE: KIND: what`, then one summary line.

What is not checked, and says so in a note: a model without `mirrors`; against a kernel tree,
a design that was never merged (`unmerged`: check it with `--patch`) and reconstructed code
(`reconstructed`: no C text exists); against a patch, a function the hunks show only in part.

Exit status: 0 every mirrored function matches; 1 drift; 2 bad input (no such tree or patch, a
C file the tree or the patch lacks, a model that does not parse, a `mirrors` item naming no
procedure). `--json`: {"schema_version", "findings", "checked", "notes", "errors"}
(objcg_proof/schemas/drift.schema.json). `--sarif FILE`: SARIF 2.1.0 with every finding located
on its C line, relative to the kernel tree (%SRCROOT%, so a kernel pull request's code
scanning shows it on the changed line), the model line as a related location.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .. import __version__
from ..drift.c_source import CFunction, CSourceError, c_functions, closest_names, read_c_functions
from ..drift.compare import Finding, compare
from ..drift.model_side import ProcMirror, model_mirrors
from ..drift.patch import PatchError, post_image, post_shown
from ..gate.files import same_file, write_atomically
from ..lang.diagnostics import SourceCache, UserError
from ..lang.parser import load_model
from .options import CommandParser, Exit, UsageError
from .status import EXIT_PROVED, EXIT_USAGE, EXIT_VIOLATED

USAGE = "usage: objcg-prove drift (--kernel-tree DIR | --patch FILE) [--json] [--sarif FILE] MODEL...\n"
JSON_SCHEMA_VERSION = 1   # of `drift --json` (NOTE(json-schemas) in cli/report.py)
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


class _BadInput(Exception):
    """A C source that cannot be had: said as one error line, exit 2."""


@dataclass
class DriftRun:
    """What a drift run found, for every output."""

    findings: list[Finding] = field(default_factory=list)
    checked: list[dict[str, Any]] = field(default_factory=list)   # one per mirrored procedure
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class CSource:
    """Where the C comes from: a kernel tree, or the hunks of a patch (parsed once per file)."""

    def __init__(self, tree: str | None, patch: str | None) -> None:
        self.tree, self.patch = tree, patch
        self._functions: dict[str, dict[str, CFunction] | _BadInput] = {}
        self.notes: list[str] = []      # how the patch was read
        self._patch_text: str | None = None
        if tree is not None and not os.path.isdir(tree):
            raise _BadInput(f"--kernel-tree {tree}: no such directory")
        if patch is not None:
            try:
                self._patch_text = Path(patch).read_text(encoding="utf-8")
            except OSError as exc:
                raise _BadInput(f"--patch {patch}: cannot read it: {exc.strerror}") from None
            except UnicodeDecodeError:
                raise _BadInput(f"--patch {patch}: not UTF-8 text") from None

    def functions(self, c_file: str) -> dict[str, CFunction]:
        if c_file not in self._functions:
            if self.tree is not None:
                path = os.path.join(self.tree, c_file)
                try:
                    if not os.path.isfile(path):
                        raise _BadInput(f"{c_file}: no such file in the kernel tree {self.tree}")
                    self._functions[c_file] = read_c_functions(path, c_file)
                except CSourceError as exc:
                    self._functions[c_file] = _BadInput(str(exc))
                except _BadInput as exc:
                    self._functions[c_file] = exc
            else:
                self._functions[c_file] = self._patch_functions(c_file)
        found = self._functions[c_file]
        if isinstance(found, _BadInput):
            raise found
        return found

    def _patch_functions(self, c_file: str) -> dict[str, CFunction] | _BadInput:
        """The functions the patch's hunks show of `c_file`, after the patch. A patch that is
        not well formed as a file is read as a mail archive's copy (context lines that lost
        their leading blank, a copy cut short), which a note says; one that is not even that
        is bad input (kept, so it is said once per file)."""
        assert self._patch_text is not None and self.patch is not None
        try:
            text = post_image(self._patch_text, c_file, self.patch)
            shown = post_shown(self._patch_text, c_file, self.patch)
        except PatchError as strict:
            try:
                text = post_image(self._patch_text, c_file, self.patch, mail_copy=True)
                shown = post_shown(self._patch_text, c_file, self.patch, mail_copy=True)
            except PatchError:
                return _BadInput(str(strict))
            self.notes.append(f"{strict}; read as a mail archive's copy of a patch instead")
        return c_functions(text, c_file, shown=shown)


def drift_main(argv: list[str], stdout: TextIO, stderr: TextIO) -> int:
    parser = CommandParser(prog="objcg-prove drift",
                           description="Check that the models still mirror the C functions they name.",
                           epilog="exit status: 0 every mirrored function matches; 1 drift; 2 bad input")
    parser.out = stdout  # type: ignore[attr-defined]
    parser.add_argument("models", nargs="+", metavar="MODEL", help="model files (.dsl)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--kernel-tree", metavar="DIR", help="a kernel source tree: the C files are relative to it")
    source.add_argument("--patch", metavar="FILE",
                        help="a patch (unified diff): the C is what its hunks show of each file, after the patch")
    parser.add_argument("--json", action="store_true", help="print a machine-readable report")
    parser.add_argument("--sarif", metavar="FILE", help="write a SARIF 2.1.0 report, findings located in the C files")
    try:
        args = parser.parse_args(argv)
        if args.kernel_tree is None and args.patch is None:
            raise UsageError("give the C to check against: --kernel-tree DIR or --patch FILE")
        if args.sarif is not None and any(same_file(args.sarif, m) for m in args.models + [args.patch or ""]):
            raise UsageError(f"--sarif {args.sarif} names an input: it would be overwritten")
    except Exit as done:
        return done.status
    except UsageError as exc:
        if "--json" in argv:
            stdout.write(drift_json(DriftRun(errors=[f"usage: {exc}"])) + "\n")
        stderr.write(f"objcg-prove: error: {exc}\n{USAGE}")
        return EXIT_USAGE
    run = run_drift(args.models, args.kernel_tree, args.patch, stderr)
    if args.json:
        stdout.write(drift_json(run) + "\n")
    else:
        stdout.write(drift_text(run))
    if args.sarif is not None:
        try:
            write_atomically(Path(args.sarif), drift_sarif(run, args.kernel_tree))
        except OSError as exc:
            stderr.write(f"objcg-prove: error: cannot write {args.sarif}: {exc.strerror}\n")
            return EXIT_USAGE
    return drift_status(run)


def drift_status(run: DriftRun) -> int:
    if run.errors:
        return EXIT_USAGE
    return EXIT_VIOLATED if run.findings else EXIT_PROVED


def run_drift(models: list[str], tree: str | None, patch: str | None, stderr: TextIO) -> DriftRun:
    """Check every model; errors are said on stderr as they come, and kept in the run."""
    run = DriftRun()

    def error(message: str) -> None:
        run.errors.append(message)
        stderr.write(message + "\n")

    try:
        source = CSource(tree, patch)
    except _BadInput as exc:
        error(f"objcg-prove: error: {exc}")
        return run
    for model in models:
        sources = SourceCache()
        try:
            mirrors = model_mirrors(load_model(model, sources), sources)
        except UserError as exc:
            for d in exc.diagnostics:
                error(d.render(sources))
            continue
        if not mirrors:
            run.notes.append(f"{model}: mirrors no C function (no `mirrors` declaration): nothing to check")
            continue
        for mirror in mirrors:
            _check_proc(run, source, model, mirror, error)
    run.notes = source.notes + run.notes
    for note in run.notes:
        stderr.write(f"objcg-prove: note: {note}\n")
    return run


def _check_proc(run: DriftRun, source: CSource, model: str, mirror: ProcMirror, error: Any) -> None:
    entry = {"model": model, "proc": mirror.proc, "function": mirror.function, "c_file": mirror.c_file,
             "state": mirror.state, "status": "checked", "findings": 0}
    run.checked.append(entry)
    why = _not_checked(mirror, source)
    if why:
        entry["status"] = "not checked"
        run.notes.append(f"{mirror.item}: {mirror.proc}: not checked: {why}")
        return
    try:
        functions = source.functions(mirror.c_file)
    except _BadInput as exc:
        entry["status"] = "error"
        error(f"{mirror.item}: error: {exc}")
        return
    function = functions.get(mirror.function)
    if function is not None and not function.complete and source.patch is not None:
        entry["status"] = "not checked"
        run.notes.append(f"{mirror.item}: {mirror.proc}: not checked: the patch's hunks show only part of "
                         f"{mirror.function}()")
        return
    found = compare(mirror, function, mirror.c_file,
                    closest_names(mirror.function, functions) if function is None else [])
    entry["findings"] = len(found)
    run.findings += found


def _not_checked(mirror: ProcMirror, source: CSource) -> str:
    if mirror.state == "reconstructed":
        return "reconstructed code (`mirrors ... reconstructed`): there is no C text to hold it to"
    if mirror.state == "unmerged" and source.tree is not None:
        return ("the design was never merged (`mirrors ... unmerged`): no kernel tree has it; "
                "check it against its patch with `objcg-prove drift --patch FILE`")
    return ""


# ---- outputs ---------------------------------------------------------------------------------------

def drift_text(run: DriftRun) -> str:
    lines = [f"{f.model_file}:{f.model_line}: {f.c_file}:{f.c_line}: {f.kind}: {f.message}" for f in run.findings]
    checked = sum(1 for c in run.checked if c["status"] == "checked")
    skipped = sum(1 for c in run.checked if c["status"] == "not checked")
    summary = f"drift: {checked} procedure{'s' * (checked != 1)} checked"
    if skipped:
        summary += f", {skipped} not checked (notes above)"
    summary += f": {len(run.findings)} finding{'s' * (len(run.findings) != 1)}" if run.findings else ": no drift"
    if run.errors:
        summary += "; errors above"
    return "\n".join(lines + [summary]) + "\n"


def drift_json(run: DriftRun) -> str:
    return json.dumps({
        "schema_version": JSON_SCHEMA_VERSION,
        "findings": [{"kind": f.kind, "proc": f.proc, "function": f.function, "model_file": f.model_file,
                      "model_line": f.model_line, "c_file": f.c_file, "c_line": f.c_line or None,
                      "message": f.message} for f in run.findings],
        "checked": run.checked,
        "notes": run.notes,
        "errors": run.errors,
    }, indent=2)


_RULE_HELP = {
    "moved": "A C statement the model mirrors is still in the function, but in another order.",
    "changed": "The function has another statement where the model mirrors one.",
    "stale": "A model line mirrors a C statement that is no longer in the function.",
    "unmirrored": "A statement of the function is mirrored by no model line and waived by no "
                  "`// not modelled:` comment.",
    "gone": "The function the model mirrors is no longer in its C file.",
}


def drift_sarif(run: DriftRun, tree: str | None) -> str:
    """SARIF 2.1.0: each finding on its C line, relative to the kernel tree (%SRCROOT%)."""
    results = []
    for f in run.findings:
        location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": f.c_file, "uriBaseId": "%SRCROOT%"}}}
        if f.c_line:
            location["physicalLocation"]["region"] = {"startLine": f.c_line}
        model = {"physicalLocation": {"artifactLocation": {"uri": Path(os.path.abspath(f.model_file)).as_uri()},
                                      "region": {"startLine": f.model_line}},
                 "message": {"text": f"the model's line ({f.proc})"}}
        digest = hashlib.sha256(f"{f.kind}\0{f.function}\0{f.c_file}\0{f.message}".encode()).hexdigest()[:32]
        results.append({"ruleId": f"drift/{f.kind}", "level": "error",
                        "message": {"text": f"{f.message} ({f.model_file}:{f.model_line})"},
                        "locations": [location], "relatedLocations": [model],
                        "partialFingerprints": {"objcgProveDrift/v1": digest}})
    for message in run.errors:
        results.append({"ruleId": "drift/error", "level": "error", "message": {"text": message}})
    base: dict[str, Any] = {"description": {"text": "the kernel tree"}}
    if tree is not None:
        uri = Path(os.path.abspath(tree)).as_uri()
        base["uri"] = uri if uri.endswith("/") else uri + "/"
    rules = [{"id": f"drift/{kind}", "shortDescription": {"text": text},
              "fullDescription": {"text": text + " The model no longer mirrors the C it names: update the "
                                                 "model (and re-record its verdicts), or waive the statement."},
              "help": {"text": "README.md, `objcg-prove drift`", "markdown": "README.md, `objcg-prove drift`"}}
             for kind, text in _RULE_HELP.items()]
    rules.append({"id": "drift/error", "shortDescription": {"text": "bad input: drift could not check a model"},
                  "fullDescription": {"text": "A model, a kernel tree, a patch or a C file that drift could not read."},
                  "help": {"text": "README.md, `objcg-prove drift`", "markdown": "README.md, `objcg-prove drift`"}})
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0",
           "runs": [{"tool": {"driver": {"name": "objcg-prove drift", "version": __version__, "rules": rules}},
                     "originalUriBaseIds": {"%SRCROOT%": base}, "results": results}]}
    return json.dumps(log, indent=2, sort_keys=True) + "\n"
