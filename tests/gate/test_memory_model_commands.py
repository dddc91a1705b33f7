"""`--memory-model sc|lkmm` on every command: the gate keeps one record per memory model
(MODEL.json, MODEL.lkmm.json: NOTE(ledger-paths) in gate/record.py), compare and mutate verify
under the one chosen, and the commands that run interleavings only (simulate, export) refuse
the LKMM with a reason. Sequentially consistent records keep their bytes."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import no_traceback, run, write
from objcg_proof.gate import ledger

# message passing without ordering: proved under sequential consistency, violated under the LKMM
MP = """
shared int data;
shared int flag;
thread P0 {
    WRITE_ONCE(data, 1);
    WRITE_ONCE(flag, 1);
}
thread P1 {
    int f = READ_ONCE(flag);
    int d = READ_ONCE(data);
    assert(f == 0 || d == 1, "mp");
}
"""

# the same with release/acquire: proved under both
MP_ORDERED = MP.replace("    WRITE_ONCE(flag, 1);", "    smp_store_release(&flag, 1);") \
               .replace("READ_ONCE(flag)", "smp_load_acquire(&flag)")


def _status(record: Path, name: str) -> str:
    return [p["status"] for p in json.loads(record.read_text())["properties"] if p["name"] == name][0]


def test_one_model_has_a_record_per_memory_model_and_check_holds_each(project: Path) -> None:
    m = write(project, MP)
    assert run("prove", "--record", "--no-traces", m).rc == 0
    r = run("prove", "--record", "--no-traces", "--memory-model", "lkmm", m)
    assert r.rc == 1, r.err
    sc, lkmm = project / "proofs/models/m.dsl.json", project / "proofs/models/m.dsl.lkmm.json"
    assert _status(sc, "mp") == "proved" and _status(lkmm, "mp") == "violated"
    assert "memory_model" not in json.loads(sc.read_text())            # an SC record keeps its bytes
    assert json.loads(lkmm.read_text())["memory_model"] == "lkmm"
    assert ledger.load(lkmm).memory_model == "lkmm"
    assert run("check", m).rc == 0
    assert run("check", "--memory-model", "lkmm", m).rc == 0
    cached = run("check", "--memory-model", "lkmm", "--json", m)   # answered from the cache, still the LKMM's
    assert cached.rc == 0, cached.out + cached.err
    assert cached.json()["models"][0]["cached"] is True
    # a protocol edit that orders the accesses: SC record unchanged, the LKMM record's violation is gone
    write(project, MP_ORDERED)
    assert run("check", m).rc == 0
    r = run("check", "--memory-model", "lkmm", "--no-cache", m)
    assert r.rc == 1 and "mp: expected violated" in r.out + r.err, r.out + r.err


def test_a_declared_memory_model_picks_its_record(project: Path) -> None:
    m = write(project, "memory_model lkmm;\n" + MP)
    assert run("prove", "--record", "--no-traces", m).rc == 1
    assert (project / "proofs/models/m.dsl.lkmm.json").exists()
    assert not (project / "proofs/models/m.dsl.json").exists()
    assert run("check", m).rc == 0
    r = run("check", "--memory-model", "sc", m)   # the flag overrides the declaration: no SC record yet
    assert r.rc == 2 and "proofs/models/m.dsl.json does not exist" in r.err
    assert "objcg-prove prove --record models/m.dsl" in r.err and "--memory-model" not in r.err


def test_a_missing_lkmm_record_says_how_to_record_it(project: Path) -> None:
    m = write(project, MP)
    r = run("check", "--memory-model", "lkmm", m)
    assert r.rc == 2
    assert "record it with: objcg-prove prove --record --memory-model lkmm models/m.dsl" in r.err


def test_a_record_moved_to_the_other_memory_models_name_is_refused(project: Path) -> None:
    m = write(project, MP)
    assert run("prove", "--record", "--no-traces", m).rc == 0
    sc = project / "proofs/models/m.dsl.json"
    sc.rename(project / "proofs/models/m.dsl.lkmm.json")
    r = run("check", "--memory-model", "lkmm", m)
    no_traceback(r)
    assert r.rc == 2 and "holds verdicts under sc, but the model is checked under lkmm" in r.err


def test_a_record_with_an_unknown_memory_model_is_malformed(project: Path) -> None:
    m = write(project, MP)
    assert run("prove", "--record", "--no-traces", "--memory-model", "lkmm", m).rc == 1
    record = project / "proofs/models/m.dsl.lkmm.json"
    record.write_text(record.read_text().replace('"memory_model": "lkmm"', '"memory_model": "tso"'))
    r = run("check", "--memory-model", "lkmm", m)
    no_traceback(r)
    assert r.rc == 2 and "'memory_model' is 'tso', expected one of sc, lkmm" in r.err


def test_compare_verifies_under_the_chosen_memory_model_and_says_which(project: Path) -> None:
    a, b = write(project, MP, "models/plain.dsl"), write(project, MP_ORDERED, "models/ordered.dsl")
    r = run("compare", a, b)
    assert r.rc == 0 and "memory model" not in r.out
    r = run("compare", "--memory-model", "lkmm", a, b)
    assert r.rc == 1, r.err
    rows = {line.split()[0]: line.split() for line in r.out.splitlines() if line.startswith(("plain", "ordered"))}
    assert "memory model" in r.out
    assert rows["plain"][1] == "lkmm" and "violated" in rows["plain"]
    assert rows["ordered"][1] == "lkmm" and "violated" not in rows["ordered"]
    r = run("compare", "--memory-model", "lkmm", "--format", "csv", a)
    assert r.out.splitlines()[0].startswith("design,model,memory model,")


def test_mutate_under_the_lkmm_asks_of_each_barrier_whether_it_is_needed(project: Path) -> None:
    m = write(project, MP_ORDERED)
    r = run("mutate", "--json", "--memory-model", "lkmm", m)
    no_traceback(r)
    report = r.json()
    assert report["memory_model"] == "lkmm"
    assert report["original"]["statuses"]["mp"] == "proved"
    relaxed = [x for x in report["mutants"] if x["operator"] == "relax"]
    assert [x["mutated"] for x in relaxed] == ["WRITE_ONCE(flag, 1);", "word f = READ_ONCE(flag);"]
    assert all(x["outcome"] == "killed" for x in relaxed)          # each half of release/acquire is needed
    assert all(x["equivalent"] is None for x in report["mutants"])  # no SC interpreter verdict on LKMM survivors
    # a second barrier on each side: each one alone is redundant, and the report says so
    doubled = write(project, MP_ORDERED.replace("    smp_store_release", "    smp_wmb();\n    smp_store_release")
                    .replace("    int d =", "    smp_rmb();\n    int d ="), "models/doubled.dsl")
    r = run("mutate", "--memory-model", "lkmm", doubled)
    assert r.rc == 1
    assert [line.split()[1:3] for line in r.out.splitlines() if "drop-fence" in line] == \
        [["SURVIVED", "drop-fence"], ["SURVIVED", "drop-fence"]]
    assert "survivors are not compared with the original" in r.out
    # under sequential consistency no such mutant is made: each would be the original
    report = run("mutate", "--json", m).json()
    assert "memory_model" not in report and not any(x["operator"] in ("relax", "drop-fence")
                                                    for x in report["mutants"])


def test_simulate_and_export_run_interleavings_only(project: Path) -> None:
    m = write(project, MP)
    for command in ("simulate", "export"):
        r = run(command, "--memory-model", "lkmm", m)
        no_traceback(r)
        assert r.rc == 2 and "--memory-model lkmm" in r.err and "objcg-prove --memory-model lkmm MODEL" in r.err
        assert run(command, "--memory-model", "sc", m).rc == 0
    declared = write(project, "memory_model lkmm;\n" + MP, "models/d.dsl")
    r = run("simulate", declared)
    assert r.rc == 0 and "this schedule is sequentially consistent" in r.err
