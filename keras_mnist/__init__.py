"""keras_mnist: a 16,848-parameter Keras CNN to 99.40 % on MNIST, exported for TF Serving and TFLite."""

import os

# TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) hides the training
# output on a CPU machine; a user who sets the variable keeps their choice.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# TensorFlow on Linux turns its oneDNN kernels on by default only on CPUs with
# AVX512_VNNI/BF16, AVX_VNNI or AMX; on an AVX2-only CPU (most laptops) it runs the
# Eigen kernels: twice as slow for this network, and with other rounding (issues 20, 21).
# oneDNN has AVX2 kernels, so it is asked for everywhere; it takes effect only if
# keras_mnist is imported before TensorFlow, as every command of the package does.
# TF_ENABLE_ONEDNN_OPTS=0 set by the user still wins.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"
