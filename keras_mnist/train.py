"""Trains an MNIST network: `python -m keras_mnist.train --epochs=20`.

Every hyperparameter is a flag (see --helpfull); presets are flagfiles:
`python -m keras_mnist.train --flagfile=flags/notebook.flags`.
"""

import sys

if __name__ == "__main__":
    # Keras imports scikit-learn when it is installed (keras-tuner brings it) for its
    # sklearn wrappers alone, which training never uses: ~1 s of CPU at start-up.
    sys.modules.setdefault("sklearn", None)

from absl import app, flags, logging  # noqa: E402

from keras_mnist import config, data, models  # noqa: E402
from keras_mnist.deploy import saved_model  # noqa: E402
from keras_mnist.training import distill, run_folder, trainer  # noqa: E402

config.define_flags()
# The training flags are this program's own: --helpshort lists them.
flags.adopt_module_key_flags(config)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    # TF logs every SavedModel write at INFO; the training output is what a user came for.
    logging.set_verbosity(logging.WARNING)
    try:
        trainer.train_and_evaluate(config.from_flags(flags.FLAGS))
    except (data.DataError, models.ArchitectureError, saved_model.ExportError, trainer.TrainingDiverged,
            run_folder.RunFolderError, distill.TeacherError) as e:
        sys.exit(f"error: {e}")


def run():
    """Console-script entry point."""
    app.run(main)


if __name__ == "__main__":
    run()
