import json
import os

import matplotlib.image
import pytest

from keras_mnist.tuning import frontier

# A fake search folder: (trial id, status, score, parameters as the metric, epochs).
TRIALS = [("0000", "COMPLETED", 0.9912, 1_800, 3), ("0001", "COMPLETED", 0.9935, 4_700, 9),
          ("0002", "COMPLETED", 0.9921, 2_600, 9), ("0003", "FAILED", None, 3_000, 9),
          ("0004", "COMPLETED", 0.9901, 4_100, 9)]


def write_search(folder, trials=TRIALS):
    for trial_id, status, score, params, epochs in trials:
        trial_dir = folder / "search" / f"trial_{trial_id}"
        trial_dir.mkdir(parents=True)
        metrics = {} if score is None else {"val_accuracy": {"direction": "max", "observations": [
            {"value": [score], "step": 0}]}, frontier.PARAMS_METRIC: {"direction": "min", "observations": [
                {"value": [float(params)], "step": 0}]}}
        (trial_dir / "trial.json").write_text(json.dumps({
            "trial_id": trial_id, "status": status, "score": score, "metrics": {"metrics": metrics},
            "hyperparameters": {"values": {"tuner/epochs": epochs}}}))
    return folder


def test_read_trials_keeps_the_finished_ones_with_their_sizes(tmp_path):
    search = write_search(tmp_path / "tune5k")
    # A trial recorded before the size metric existed: its size from its flagfile's comment.
    old = search / "search" / "trial_0005"
    old.mkdir()
    (old / "trial.json").write_text(json.dumps({"trial_id": "0005", "status": "COMPLETED", "score": 0.993,
                                                "metrics": {"metrics": {}}, "hyperparameters": {"values": {}}}))
    (old / "trial.flags").write_text("# trial 0005: 3,328 trainable parameters\n--model=cnn\n--epochs=8\n")
    trials = frontier.read_trials(search)
    # A Bayesian search's trial records no epochs: they come from its flagfile.
    assert {t["trial_id"]: t["epochs"] for t in trials} == {"0000": 3, "0001": 9, "0002": 9, "0004": 9, "0005": 8}
    assert sorted((t["trial_id"], t["params"], t["accuracy"]) for t in trials) == [
        ("0000", 1_800, 0.9912), ("0001", 4_700, 0.9935), ("0002", 2_600, 0.9921), ("0004", 4_100, 0.9901),
        ("0005", 3_328, 0.993)]
    # Hyperband's earlier rung (3 of 9 epochs) is a short trial; the Bayesian one is not.
    assert {t["trial_id"] for t in trials if t["short"]} == {"0000"}
    # The frontier: each trial that beats every smaller one.
    assert [t["trial_id"] for t in frontier.pareto(trials)] == ["0000", "0002", "0005", "0001"]


def test_frontier_command_draws_every_trial(tmp_path, capsys):
    first = write_search(tmp_path / "tune5k")
    second = write_search(tmp_path / "tune2k", [("0000", "COMPLETED", 0.9890, 1_500, 9)])
    out = tmp_path / "plots" / "frontier.png"
    frontier.main([str(first), str(second), f"--out={out}"])
    image = matplotlib.image.imread(out)
    assert image.shape[0] > 400 and image.shape[1] > 600
    printed = capsys.readouterr().out
    assert "| tune5k | 0001 | 4,700 | 9 | 99.35 % |" in printed and "| tune2k | 0000 | 1,500 | 9 | 98.90 % |" in printed
    assert f"5 trials drawn: {out}" in printed
    # The printed frontier is of the full-length (9-epoch) trials: the 3-epoch trial is a point, not on it.
    assert "| tune5k | 0002 | 2,600 | 9 | 99.21 % |" in printed and "| tune5k | 0000 |" not in printed


def test_plot_points_are_the_trials(tmp_path):
    trials = frontier.read_trials(write_search(tmp_path / "tune"))
    drawn = frontier.plot({"tune": trials}, str(tmp_path / "f.png"))
    assert sorted(drawn["tune"]) == sorted((float(t["params"]), pytest.approx(100 * t["accuracy"]))
                                           for t in trials)
    assert len(drawn["tune"]) == 4  # The failed trial is not a point.


@pytest.mark.parametrize("argv, message", [
    (["{tmp}/nothing"], "holds no search"),
    (["{tmp}/tune", "--out={tmp}/f.jpg"], "--out must name a .png file"),
    ([], "the following arguments are required: TUNE_DIR"),
    (["{tmp}/tune", "--out={tmp}/f.png", "--write_csv={tmp}/t.json"], "--write_csv must name a .csv file"),
    (["{tmp}/missing.csv"], "cannot read"),
])
def test_bad_input_is_one_line(tmp_path, argv, message):
    write_search(tmp_path / "tune")
    with pytest.raises(SystemExit) as exit_:
        frontier.main([a.format(tmp=tmp_path) for a in argv])
    assert str(exit_.value.code).startswith("error: ") and message in str(exit_.value.code)
    assert "\n" not in str(exit_.value.code)


def test_a_trials_table_draws_the_same_plot_without_the_folders(tmp_path, capsys):
    search = write_search(tmp_path / "tune5k")
    (search / "search" / "trial_0001" / "trial.flags").write_text(
        "# trial 0001: 4,700 trainable parameters\n--model=cnn\n--separable\n--epochs=9\n")
    table = tmp_path / "trials" / "tune5k.csv"
    frontier.main([str(search), f"--out={tmp_path}/a.png", f"--write_csv={table}"])
    from_folder = capsys.readouterr().out
    searches = frontier.read_csv(table)
    assert searches == {"tune5k": frontier.read_trials(search)}
    assert {t["trial_id"]: t["flags"] for t in searches["tune5k"]}["0001"] == "--model=cnn --separable --epochs=9"
    frontier.main([str(table), f"--out={tmp_path}/b.png"])
    # The same frontier table and the same points, read from the table instead of the folder.
    assert capsys.readouterr().out.replace("b.png", "a.png") == from_folder
    assert (frontier.plot(searches, str(tmp_path / "c.png"))
            == frontier.plot({"tune5k": frontier.read_trials(search)}, str(tmp_path / "d.png")))


def test_a_table_alone_draws_no_plot(tmp_path, capsys, monkeypatch):
    """--write_csv without --out writes the table and leaves the default plot (docs/frontier.png) alone."""
    search = write_search(tmp_path / "tune5k")
    monkeypatch.chdir(tmp_path)
    frontier.main([str(search), "--write_csv=t.csv"])
    assert capsys.readouterr().out.splitlines()[-1] == "4 trials written: t.csv"  # the finished ones
    assert sorted(os.listdir(tmp_path)) == ["t.csv", "tune5k"]
    frontier.main([str(search)])
    assert os.path.isfile(tmp_path / "docs" / "frontier.png")


@pytest.mark.parametrize("text, message", [
    ("trial,score\n0001,0.99\n", "is not a trials table"),
    (",".join(frontier.CSV_COLUMNS) + "\ntune,0001,many,9,0.99,\n", "a row is not a trial"),
])
def test_a_bad_trials_table_is_one_line(tmp_path, text, message):
    (tmp_path / "t.csv").write_text(text)
    with pytest.raises(SystemExit) as exit_:
        frontier.main([str(tmp_path / "t.csv"), f"--out={tmp_path}/f.png"])
    assert str(exit_.value.code).startswith("error: ") and message in str(exit_.value.code)
    assert "\n" not in str(exit_.value.code)


def test_a_bayesian_search_of_several_epoch_choices_has_no_short_trials(tmp_path, capsys):
    search = tmp_path / "tune5k_muon"
    for trial_id, epochs, score, params in (("00", 25, 0.9921, 4_560), ("01", 20, 0.9940, 4_732)):
        trial_dir = search / "search" / f"trial_{trial_id}"
        trial_dir.mkdir(parents=True)
        (trial_dir / "trial.json").write_text(json.dumps({
            "trial_id": trial_id, "status": "COMPLETED", "score": score, "metrics": {"metrics": {
                frontier.PARAMS_METRIC: {"observations": [{"value": [float(params)], "step": 0}]}}},
            "hyperparameters": {"values": {"epochs": epochs}}}))
    trials = frontier.read_trials(search)
    assert frontier.full_length(trials) == trials
    frontier.main([str(search), f"--out={tmp_path}/f.png"])
    # --epochs_choices picks each trial's length: the 20-epoch trial is on the frontier.
    assert "| tune5k_muon | 01 | 4,732 | 20 | 99.40 % |" in capsys.readouterr().out
