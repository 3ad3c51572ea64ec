"""When training goes wrong (divergence, saturation) and saved params (--save, --load on run,
script, tui, check and train)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import bpdebug
from bpdebug.train.trainer import Trainer
from bpdebug.tui.app import BpDebugApp

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
XOR = str(EXAMPLES / "xor.bp")



# ---- divergence and saturation --------------------------------------------------------------
def test_an_infinite_loss_stops_training_naming_the_step_and_where_inf_was_born(cli):
    # w = 10 - 0.1 * 2w exp(w^2) is huge, so at step 2 exp(w * w) overflows
    code, out, err = cli("train", "-e", "param w = 10\nq = w * w\nloss C = exp(q)", "--steps", "50",
                         "--lr", "0.1", "--json")
    result = json.loads(out)
    assert code == 1 and result["steps"] == 2 and result["losses"][1] == "inf"
    assert result["diverged"]["step"] == 2 and result["diverged"]["origin"]["node"] == "C"
    assert result["diverged"]["origin"]["pass"] == "forward"
    assert ("training stopped at step 2: C became inf; nan or inf was born at node C: forward step of "
            "C = exp(q) made C = inf from finite q = ") in err


def test_nan_born_in_the_backward_pass_is_found_there(cli):
    # d sqrt(w*w - 4)/dw is inf where w*w = 4: at step 1 the gradient of w is born non-finite
    code, out, err = cli("train", "-e", "param w = 2\nd = w * w - 4\nloss C = sqrt(d)", "--steps", "5",
                         "--lr", "0.1", "--json")
    result = json.loads(out)
    assert code == 1 and result["steps"] == 1 and result["params"]["w"] in ("nan", "inf", "-inf")
    origin = result["diverged"]["origin"]
    assert origin["node"] == "C" and origin["pass"] == "backward"
    assert "training stopped at step 1: w became nan or inf; nan or inf was born at node C: backward" in err


def test_a_param_the_update_itself_overflows_is_named():
    t = Trainer(bpdebug.load("param w = 1e300\nloss C = (w - 1e300) * 2"), 1e308)
    t.run(10)
    assert t.steps_done == 1 and t.diverged is not None
    assert t.diverged.origin is None and t.diverged.update == "w"
    assert "the update of w made it from finite values (the step overflowed)" in t.diverged.message()


def test_taking_the_diverging_step_back_forgets_the_divergence():
    t = Trainer(bpdebug.load("param w = 1e300\nloss C = (w - 1e300) * 2"), 1e308)
    t.run(1)
    assert t.diverged
    t.back(1)
    assert t.diverged is None and t.param_values()["w"] == 1e300


def test_the_sigmoid_net_at_a_huge_rate_saturates_and_gets_a_warning_with_gradient_norms(cli):
    code, out, err = cli("train", XOR, "--lr", "1e6", "--steps", "20", "--json")
    assert code == 0
    warnings = json.loads(out)["warnings"]
    assert any(w.startswith("layer h: 100% of its sigmoid outputs are saturated and its gradient norm fell "
                            "from 0.00254597 at step 1 to ") for w in warnings)
    assert "bpdebug: warning: layer h: 100% of its sigmoid outputs are saturated" in err
    code, out, err = cli("train", XOR, "--steps", "20", "--json")      # lr 4: no warning
    assert json.loads(out)["warnings"] == [] and "warning" not in err


# ---- saved params ---------------------------------------------------------------------------
@pytest.fixture
def trained(tmp_path, cli) -> Path:
    path = tmp_path / "xor.npz"
    code, out, _ = cli("train", XOR, "--save", str(path), "--json")
    assert code == 0
    return path


def test_load_lets_run_step_through_the_trained_model(cli, trained):
    code, out, _ = cli("run", XOR, "--load", str(trained), "--json")
    nodes = {n["name"]: n for n in json.loads(out)["nodes"]}
    with np.load(trained, allow_pickle=False) as saved:
        np.testing.assert_array_equal(nodes["h.W"]["value"], saved["h.W"])
    assert code == 0 and json.loads(out)["value"] < 0.001
    assert np.round(nodes["out.a"]["value"]).ravel().tolist() == [0, 1, 1, 0]


def test_load_continues_training_where_save_left_off(cli, trained, tmp_path):
    code, out, _ = cli("train", XOR, "--load", str(trained), "--steps", "1", "--json")
    first = json.loads(out)["losses"][0]
    code, out, _ = cli("run", XOR, "--load", str(trained), "--json")
    assert first == json.loads(out)["value"]                    # step 1 starts from the saved params
    again = tmp_path / "again.npz"
    code, out, _ = cli("train", XOR, "--load", str(trained), "--steps", "1", "--batch", "2",
                       "--save", str(again), "--json")        # rebuilt for batches, loaded params kept
    assert code == 0 and json.loads(out)["losses"][0] < 0.01


def test_script_check_and_tui_load_and_save(cli, trained, tmp_path, monkeypatch):
    code, out, _ = cli("script", XOR, "--load", str(trained), "-c", "continue")
    assert code == 0 and "done: C = 0.000494" in out
    code, out, _ = cli("check", XOR, "--load", str(trained), "--save", str(tmp_path / "c.npz"))
    assert code == 0
    with np.load(tmp_path / "c.npz") as a, np.load(trained) as b:
        assert all(np.array_equal(a[k], b[k]) for k in b.files)
    shown = []
    monkeypatch.setattr(BpDebugApp, "run", lambda app, *a, **k: shown.append(app))
    code, _, _ = cli("tui", XOR, "--load", str(trained), "--save", str(tmp_path / "t.npz"))
    np.testing.assert_array_equal(shown[0].training.trainer.param_values()["h.W"], np.load(trained)["h.W"])
    assert code == 0 and (tmp_path / "t.npz").exists()


def test_script_trains_and_saves_what_it_trained(cli, tmp_path):
    path = tmp_path / "s.npz"
    code, out, _ = cli("script", XOR, "-c", "train 5", "--save", str(path))
    t = Trainer(bpdebug.load_file(XOR), 4.0)
    t.run(5)
    with np.load(path) as saved:
        for name, value in t.param_values().items():
            np.testing.assert_array_equal(saved[name], value)


def test_a_set_value_wins_over_a_loaded_one(cli, trained):
    code, out, _ = cli("run", XOR, "--load", str(trained), "--set", "out.b=[5]", "--json")
    nodes = {n["name"]: n for n in json.loads(out)["nodes"]}
    assert nodes["out.b"]["value"] == [5.0]
    assert nodes["h.b"]["value"] == np.load(trained)["h.b"].tolist()


def npz(tmp_path, name: str, **arrays) -> str:
    path = tmp_path / name
    np.savez(path, **arrays)
    return str(path)


@pytest.mark.parametrize("command", ["run", "script", "tui", "check", "train"])
def test_a_bad_load_exits_2_on_every_command(cli, tmp_path, command, monkeypatch):
    monkeypatch.setattr(BpDebugApp, "run", lambda app, *a, **k: None)
    extra = {"script": ["-c", "step"], "train": ["--steps", "1"]}.get(command, [])
    cases = [
        (npz(tmp_path, "v.npz", **{"out.Wt": np.zeros((3, 1))}), "holds 'out.Wt', which is not a param of the program",
         "did you mean 'out.W'?"),
        (npz(tmp_path, "w.npz", **{"h.W": np.zeros((3, 2))}), "'h.W' has shape (3, 2), but the program's h.W has shape (2, 3)", ""),
        (str(EXAMPLES / "xor.csv"), "xor.csv is not an .npz file", ""),
        (str(tmp_path / "gone.npz"), "cannot read", ""),
    ]
    for path, message, hint in cases:
        code, out, err = cli(command, XOR, "--load", path, *extra)
        assert code == 2 and message in err and hint in err and "Traceback" not in err, (command, err)


def test_load_never_unpickles(cli, tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, **{"h.W": np.array([{"a": 1}], dtype=object)})
    code, _, err = cli("run", XOR, "--load", str(path))
    assert code == 2 and "holds Python objects, which bpdebug never loads" in err
    np.save(tmp_path / "one.npy", np.zeros(3))
    code, _, err = cli("run", XOR, "--load", str(tmp_path / "one.npy"))
    assert code == 2 and "is not an .npz file (it is an .npy file" in err


def test_save_without_params_is_an_error_before_any_work(cli, tmp_path):
    code, out, err = cli("run", "-e", "x = 1; y = x * 2", "--save", str(tmp_path / "x.npz"))
    assert code == 2 and "the program has no param to save" in err and out == ""
    assert not (tmp_path / "x.npz").exists()


def test_load_on_a_trace_is_refused(cli, tmp_path, trained):
    trace = tmp_path / "t.bpt"
    assert cli("run", XOR, "--trace", str(trace))[0] == 0
    code, _, err = cli("script", str(trace), "--load", str(trained), "-c", "step")
    assert code == 2 and "is a recording: --load cannot change it" in err
