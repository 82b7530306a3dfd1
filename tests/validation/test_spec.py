"""Experiment specs: round trips, shipped specs, overrides, and one-line errors naming the key."""

from __future__ import annotations

import copy

import pytest

from rfloc.cli import main
from rfloc.validation import catalog
from rfloc.validation.spec import SpecError, dump, load, loads, parse_override

BASE = {
    "schema": "rfloc.spec/1",
    "name": "tiny",
    "title": "a tiny peak comparison",
    "source": "a test",
    "data": {"model": "ising", "n": 12, "positive": {"J": 0.7}, "negative": {"J": 0.3}},
    "training": {"lr": 0.05, "steps": 40, "batch_size": 50},
    "protocol": {"kind": "peaks", "inits": 2, "full_batch_size": 200},
    "variants": [{"label": "a", "set": {"training.batch_size": 50}},
                 {"label": "b", "set": {"data.positive.J": 0.8}}],
    "scales": {"quick": {"note": "fewer steps", "set": {"training.steps": 20}}},
}


def _with(path: str, value: object) -> dict:
    raw = copy.deepcopy(BASE)
    node = raw
    *parents, last = path.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return raw


_DELETE = object()


def test_round_trip_load_resolve_dump_load():
    spec = load(BASE)
    assert loads(dump(spec)) == spec
    resolved = spec.resolve("quick")
    assert loads(dump(resolved)) == resolved
    assert resolved.scale == "quick" and resolved.scale_note == "fewer steps"


def test_scale_and_overrides_apply_to_every_variant_after_its_own():
    spec = load(BASE).resolve("quick", {"training.lr": 0.1, "data.positive.J": 0.9})
    cases = {c.label: c for c in spec.cases()}
    assert all(c.training.steps == 20 and c.training.lr == 0.1 for c in cases.values())
    assert cases["b"].data.class_params()[0]["J"] == 0.9       # the override wins
    assert cases["a"].task().positive.params["J"] == 0.9


def test_shared_data_keys_reach_both_classes():
    case = load(BASE).resolve("full").cases()[1]
    pos, neg = case.data.class_params()
    assert (pos["model"], pos["n"], pos["J"]) == ("ising", 12, 0.8)
    assert (neg["model"], neg["n"], neg["J"]) == ("ising", 12, 0.3)


@pytest.mark.parametrize("name", catalog.names())
@pytest.mark.parametrize("scale", ["quick", "full"])
def test_every_shipped_spec_resolves_and_cites_its_source(name, scale):
    spec = catalog.get(name)
    assert spec.source and spec.title
    resolved = spec.resolve(scale)
    assert len(resolved.cases()) == len(resolved.variants) >= 1
    assert loads(dump(resolved)) == resolved
    if scale == "quick":
        assert "quick" in spec.scales and spec.scales["quick"].note


def test_parse_override_reads_toml_values():
    assert parse_override("training.steps=2000") == ("training.steps", 2000)
    assert parse_override("data.marginal={name='algebraic', k=5.0}") == (
        "data.marginal", {"name": "algebraic", "k": 5.0})
    assert parse_override("theory.method = rk4") == ("theory.method", "rk4")
    with pytest.raises(SpecError, match="KEY=VALUE"):
        parse_override("training.steps")


BAD = [
    ("colour", "blue", "unknown key 'colour'"),
    ("training.momentum", 0.9, "unknown key 'training.momentum'"),
    ("training.lr", "fast", "training.lr"),
    ("training.lr", -0.1, "training.lr"),
    ("training.lr", 0.0, "training.lr"),
    ("training.lr", float("nan"), "training.lr"),
    ("training.steps", 0, "training.steps"),
    ("training.steps", 10**12, "training.steps"),
    ("training.batch_size", 0, "training.batch_size"),
    ("training.batch_size", 1.5, "training.batch_size"),
    ("training.init_scale", -1.0, "training.init_scale"),
    ("training.mode", "offline", "training.mode"),
    ("protocol.kind", "nonsense", "protocol"),
    ("protocol", _DELETE, "missing key 'protocol'"),
    ("protocol.inits", 0, "protocol.inits"),
    ("data.p", 1.5, "data.p"),
    ("data.p", 0.0, "data.p"),
    ("network.activation", "gelu", "network.activation"),
    ("network.k", 0, "network.k"),
    ("network.output", "three", "network.output"),
    ("theory.method", "rk45", "theory.method"),
    ("theory.dt", -0.1, "theory.dt"),
    ("theory.amplifier", "magic", "theory.amplifier"),
    ("name", "Has Spaces", "name"),
    ("title", _DELETE, "missing key 'title'"),
    ("schema", "rfloc.spec/2", "schema"),
    ("variants", [{"label": "x"}, {"label": "x"}], "variants"),
    ("variants", [{"label": "a/b"}], "variants.0.label"),
    ("scales.huge", {"set": {}}, "scales.huge"),
    ("data.model", "foo", "data.positive"),
    ("data.positive.J", "strong", "data.positive"),
    ("data.negative.J", -0.5, "data.negative"),
    ("data.n", 1, "data.positive"),
    ("data.model", _DELETE, "data.positive needs a 'model' key"),
]


@pytest.mark.parametrize(("path", "value", "needle"), BAD,
                         ids=[f"{p}={v!r}"[:40] for p, v, _ in BAD])
def test_bad_spec_gives_one_line_naming_the_key(path, value, needle):
    with pytest.raises(SpecError) as info:
        load(_with(path, value)).resolve("full")
    msg = str(info.value)
    assert needle in msg, msg
    assert "\n" not in msg


def test_a_grid_expands_to_the_product_of_its_values():
    raw = {**copy.deepcopy(BASE), "grid": {"data.positive.J": [0.6, 0.7],
                                           "training.lr": [0.01, 0.05, 0.1]}}
    raw.pop("variants", None)
    spec = load(raw)
    got = [(v.label, v.set) for v in spec.variants]
    want = [(f"J{j:g}-lr{lr:g}", {"data.positive.J": j, "training.lr": lr})
            for j in (0.6, 0.7) for lr in (0.01, 0.05, 0.1)]
    assert got == want
    cases = spec.resolve("full").cases()
    assert [(c.data.positive["J"], c.training.lr) for c in cases] == [
        (j, lr) for j in (0.6, 0.7) for lr in (0.01, 0.05, 0.1)]
    assert loads(dump(spec)) == spec                      # round trip (as variants)


def test_grid_labels_fall_back_to_indices_and_bad_grids_name_the_key():
    raw = {**copy.deepcopy(BASE), "grid": {"data.positive.marginal": [
        {"name": "uniform"}, {"name": "laplace"}]}}
    raw.pop("variants", None)
    assert [v.label for v in load(raw).variants] == ["v000", "v001"]
    for grid, needle in (({"data.g": 3.0}, "grid.data.g must be a non-empty list"),
                         ({"data.g": []}, "grid.data.g must be a non-empty list"),
                         ({}, "grid must be a table")):
        bad = {**copy.deepcopy(BASE), "grid": grid}
        bad.pop("variants", None)
        with pytest.raises(SpecError, match=needle):
            load(bad)
    both = {**copy.deepcopy(BASE), "grid": {"training.lr": [0.1]},
            "variants": [{"label": "a"}]}
    with pytest.raises(SpecError, match="variants or grid, not both"):
        load(both)


def test_union_keys_name_every_allowed_member_and_no_pydantic_internals():
    for value in (-0.1, "abc"):
        with pytest.raises(SpecError) as info:
            load(_with("theory.dt", value)).resolve("full")
        msg = str(info.value)
        assert "theory.dt:" in msg and "'lr'" in msg and "constrained" not in msg, msg


def test_bad_override_names_its_key():
    with pytest.raises(SpecError, match=r"training\.lr"):
        load(BASE).resolve("full", {"training.lr": -1})
    with pytest.raises(SpecError, match="is a value, not a table"):
        load(BASE).resolve("full", {"training.lr.x": 1})


def test_bad_toml_file_names_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("name = [unclosed\n")
    with pytest.raises(SpecError, match=r"broken\.toml"):
        load(path)
    with pytest.raises(SpecError, match="cannot be read"):
        load(tmp_path / "missing.toml")


@pytest.mark.parametrize("argv, needle", [
    (["run", "no-such-spec"], "spec must be a file or one of"),
    (["run", "ising", "--set", "training.lr=-1"], "training.lr"),
    (["run", "ising", "--set", "nonsense"], "KEY=VALUE"),
    (["run", "ising", "--scale", "full", "--set", "training.steps=100000000"],
     "pass --yes"),
    (["show", "ising", "--set", "protocol.kind=spiral"], "protocol"),
    (["run", "ising", "--scheduler", "not an address"], "scheduler must be"),
])
def test_cli_refuses_bad_specs_in_one_line(argv, needle, tmp_path, capsys):
    assert main([*argv, *(["--out", str(tmp_path)] if argv[0] == "run" else [])]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err


def test_cli_refuses_an_out_path_that_is_a_file_before_computing(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["run", "fig3-ising", "--scale", "quick", "--out", str(target)]) == 2
    assert "is a file" in capsys.readouterr().err


def test_specs_and_show_list_and_cost(capsys):
    assert main(["specs"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in catalog.names())
    assert main(["show", "fig3-ising", "--scale", "quick"]) == 0
    out = capsys.readouterr().out
    assert 'name = "fig3-ising"' in out and "multiply-adds" in out and "estimated" in out
    # each case's merged tables: the variant's and the scale's overrides are in them
    case = out.split("# case 'lsg24-code' as it runs")[1]
    assert '#   amplifier = "lsg24-fig3"' in case and "#   full_batch_size = 10000" in case
