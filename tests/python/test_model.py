"""ember.load_model: checkpoints written by the ember program, scored from Python with the
probabilities `ember predict` writes (there printed with 6 decimals)."""

import os
import random
import subprocess

import numpy as np
import pytest

import ember
from ember.model import Schema

CLI = os.environ.get("EMBER_CLI")
ADULT = os.environ.get("EMBER_ADULT")


def ember_cli(*args):
    if not CLI:
        pytest.fail("EMBER_CLI (the ember program) is not set; ctest sets it")
    return subprocess.run([CLI, *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def adult_model(tmp_path_factory):
    if not ADULT or not os.path.exists(os.path.join(ADULT, "adult.data")):
        pytest.fail(f"the Adult data is not at EMBER_ADULT={ADULT!r}; ctest sets it")
    path = str(tmp_path_factory.mktemp("adult") / "m.safetensors")
    ember_cli("train", "--data", os.path.join(ADULT, "adult.data"), "--epochs", "1",
              "--threads", "1", "--save", path)
    return path


def test_adult_probabilities_equal_ember_predict(adult_model):
    """A checkpoint of this tree's ember (schema as JSON) scored as `ember predict` scores it."""
    with open(adult_model, "rb") as f:
        assert b'"ember.schema":"{' in f.read(4096)
    test = os.path.join(ADULT, "adult.test")
    want = np.array(ember_cli("predict", "--model", adult_model, "--data", test, "--threads",
                              "1").split(), dtype=np.float64)
    m = ember.load_model(adult_model)
    got = m.predict_file(test)
    assert len(got) == len(want) == 16281
    assert np.max(np.abs(got - want)) <= 1e-6


def test_adult_tensors_and_rows(adult_model):
    m = ember.load_model(adult_model)
    fx = m.features
    pc = ember.widedeep_count_params(fx.wide_buckets, fx.field_buckets,
                                     [m.emb_dim] * len(fx.field_buckets), len(fx.num_col),
                                     m.hidden)
    assert sum(t.size for t in m.tensors.values()) == pc.allocated
    # the default optimizers: Adagrad on the wide part and embeddings, Adam on the layers
    assert m.optimizer_state["wide.weight.sum"].shape == m.tensors["wide.weight"].shape
    assert m.optimizer_state["out.bias.exp_avg_sq"].shape == (1,)
    sd = m.state_dict()
    assert sd["wide.weight"].shape == (fx.d_wide, 1) and sd["out.bias"].shape == (1,)
    row = ["39", "State-gov", "77516", "Bachelors", "13", "Never-married", "Adm-clerical",
           "Not-in-family", "White", "Male", "2174", "0", "40", "United-States", ""]
    missing = list(row)
    missing[1] = "?"
    p = m.predict([row, missing])
    q = m.predict_rows([ember.model.parse_row(m.schema, b", ".join(
        (v or "?").encode() for v in r)) for r in (row, missing)])
    assert p.shape == (2,) and np.array_equal(p, q) and p[0] != p[1]
    with pytest.raises(ember.BadData):
        m.predict([row[:-1]])


def test_csv_model_with_bags_crosses_and_buckets(tmp_path):
    rnd = random.Random(3)
    lines = ["label,age,city,tags,noise"]
    for _ in range(600):
        city = rnd.choice(["paris", "rome", "oslo", "lima", ""])
        tags = "|".join(rnd.sample(["a", "b", "c", "d", "e"], rnd.randint(0, 3)))
        age = rnd.choice([str(rnd.randint(18, 90)), "?"])
        y = int((city in ("paris", "oslo")) ^ ("a" in tags))
        lines.append(f"{y},{age},\"{city}\",{tags},{rnd.random()}")
    data = tmp_path / "d.csv"
    data.write_text("\n".join(lines) + "\n")
    model = str(tmp_path / "m.safetensors")
    ember_cli("train", "--data", str(data), "--format", "csv", "--header", "--schema",
              "label,age:num,city:cat,tags:multi:|,noise:num", "--cross", "city*age",
              "--numeric", "logstd", "--epochs", "2", "--threads", "1", "--save", model)
    want = np.array(ember_cli("predict", "--model", model, "--data", str(data), "--threads",
                              "1").split(), dtype=np.float64)
    got = ember.load_model(model).predict_file(str(data))
    assert len(got) == 600 and np.max(np.abs(got - want)) <= 1e-6


def test_schema_in_both_encodings():
    text = ("format=csv;delim=9;header=1;prefix=0;positive=yes%3B;labels=no|yes%3B;"
            "cols=y:1:0|n%3Dx:2:0|c:3:0|t:4:124")
    a = Schema.parse(text)
    b = Schema.parse('{"format": "csv", "delimiter": "\\t", "header": true, "positive": "yes;",'
                     ' "positive_prefix": false, "label_values": ["no", "yes;"], "columns":'
                     ' [{"name": "y", "kind": "label"}, {"name": "n=x", "kind": "num"},'
                     ' {"name": "c", "kind": "cat"},'
                     ' {"name": "t", "kind": "multi", "separator": "|"}]}')
    assert a == b
    assert a.columns[3].sep == "|" and a.label_col == 0 and a.delim == "\t"
    with pytest.raises(ember.CorruptFile):
        Schema.parse("format=csv;cols=a:2:0")  # no label column
    with pytest.raises(ember.CorruptFile):
        Schema.parse('{"format": "csv", "columns": []}')  # keys missing


def test_corrupt_files_raise(tmp_path, adult_model):
    with open(adult_model, "rb") as f:
        blob = f.read()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ember.CorruptFile, match="tensor"):
        ember.load_model(str(cut))
    (tmp_path / "tiny").write_bytes(b"abc")
    with pytest.raises(ember.CorruptFile, match="shorter"):
        ember.load_model(str(tmp_path / "tiny"))


def test_legacy_checkpoint_predicts_what_that_ember_predicted():
    """tests/model/fixtures/legacy.st: the escaped-text schema of ember up to 4fceedd."""
    fixtures = os.path.join(os.path.dirname(__file__), "..", "model", "fixtures")
    m = ember.load_model(os.path.join(fixtures, "legacy.st"))
    assert not m.metadata["ember.schema"].startswith("{")
    got = m.predict_file(os.path.join(fixtures, "adult.sample.test"))
    want = np.loadtxt(os.path.join(fixtures, "legacy.predictions.txt"))
    assert len(got) == len(want) == 100 and np.max(np.abs(got - want)) <= 1e-6
