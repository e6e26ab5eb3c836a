"""keras_mnist: a 16,848-parameter Keras CNN to 99.40 % on MNIST, exported for TF Serving and TFLite."""

import os

# TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) hides the training
# output on a CPU machine; a user who sets the variable keeps their choice.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
