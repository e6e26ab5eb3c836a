import os

from keras_mnist import seeds


def test_table_reports_final_accuracy_and_wall_time():
    rows = [(1, {"trainable_params": 16848, "final_test_accuracy": 0.9942, "epochs": [{}] * 20}, 301.4),
            (2, {"trainable_params": 16848, "final_test_accuracy": 0.9951, "epochs": [{}] * 20}, 299.6)]
    text = seeds.table(rows)
    assert "| 1 | 16,848 | 20 | 99.42 % | 301 s |" in text
    assert "| 2 | 16,848 | 20 | 99.51 % | 300 s |" in text
    assert text.endswith("min 99.42 %, mean 99.47 %")


def test_run_seed_trains_in_a_subprocess(mnist, tmp_path):
    # A real (tiny) training run through the command line, as the script does it.
    metrics, wall = seeds.run_seed(4, ["--epochs=1", "--train_size=1000", "--noexport_tflite"], str(tmp_path))
    assert metrics["flags"]["seed"] == 4 and metrics["flags"]["train_size"] == 1000
    assert 0.0 < metrics["final_test_accuracy"] <= 1.0 and wall > 0
    assert os.path.exists(tmp_path / "exports" / "reference" / "1" / "saved_model.pb")


def test_run_seed_with_avx2_caps_the_training_process(mnist, tmp_path):
    metrics, _ = seeds.run_seed(1, ["--epochs=1", "--train_size=256", "--noexport"], str(tmp_path), isa="avx2")
    assert metrics["instruction_set"] == "avx2" and metrics["tensorflow_kernels"] == "oneDNN"


def test_run_seed_as_tensorflow_would_on_an_avx2_laptop_trains_with_eigen(mnist, tmp_path):
    metrics, _ = seeds.run_seed(1, ["--epochs=1", "--train_size=256", "--noexport"], str(tmp_path),
                                isa="avx2_eigen")
    assert metrics["tensorflow_kernels"] == "Eigen"
