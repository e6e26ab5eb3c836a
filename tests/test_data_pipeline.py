
import numpy as np

from keras_mnist import data


def test_train_dataset_shuffles_by_seed_each_epoch():
    x = np.arange(64, dtype=np.uint8).reshape(64, 1, 1, 1) * np.ones((1, 28, 28, 1), np.uint8)
    y = np.arange(64) % 10

    def epochs(seed, n=2, first=0):
        ds = data.train_dataset(x, y, batch_size=16, seed=seed, epochs=n, first_epoch=first)
        order = np.concatenate([xb[:, 0, 0, 0] for xb, _ in ds.as_numpy_iterator()])
        return order.reshape(n - first, 64)

    first, second = epochs(seed=1)
    assert sorted(first) == list(range(64))  # Every image once per epoch.
    assert not np.array_equal(first, second)  # Reshuffled between epochs...
    again = epochs(seed=1)
    np.testing.assert_array_equal(first, again[0])  # ...in an order the seed fixes.
    np.testing.assert_array_equal(second, again[1])
    assert not np.array_equal(first, epochs(seed=2)[0])
    # A run resumed at epoch 1 gets epoch 1's order, not epoch 0's.
    np.testing.assert_array_equal(epochs(seed=1, first=1)[0], second)


def test_batches_are_those_of_the_examples_shuffled_with_the_epoch_seed():
    # The order every published number was trained with: the examples themselves
    # shuffled with seed * 1,000,003 + epoch (the pipeline shuffles indices instead).
    import tensorflow as tf

    x = np.arange(300, dtype=np.int64).reshape(300, 1, 1, 1) * np.ones((1, 2, 2, 1), np.int64)
    y = np.arange(300) % 10
    for epoch in (0, 1):
        expected = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(300, seed=7 * 1_000_003 + epoch)
        expected = np.array([int(image[0, 0, 0]) for image, _ in expected.as_numpy_iterator()])
        ds = data.train_dataset(x, y, batch_size=64, seed=7, epochs=epoch + 1, first_epoch=epoch)
        batches = list(ds.as_numpy_iterator())
        assert [len(images) for images, _ in batches] == [64, 64, 64, 64, 44]
        np.testing.assert_array_equal(np.concatenate([images[:, 0, 0, 0] for images, _ in batches]), expected)
        np.testing.assert_array_equal(np.concatenate([labels for _, labels in batches]), expected % 10)


def test_datasets_yield_uint8_images_and_int_labels():
    x = np.zeros((10, 28, 28, 1), np.uint8)
    y = np.arange(10, dtype=np.int64)
    images, labels = next(iter(data.eval_dataset(x, y, batch_size=4)))
    assert images.dtype.name == "uint8" and images.shape == (4, 28, 28, 1)
    assert labels.numpy().tolist() == [0, 1, 2, 3]


def test_validation_split_is_disjoint_and_seeded():
    x = np.arange(100)
    y = np.arange(100)
    (xt, _), (xv, _) = data.split_validation(x, y, 20, seed=3)
    assert len(xt) == 80 and len(xv) == 20 and not set(xt) & set(xv)
    (_, _), (xv2, _) = data.split_validation(x, y, 20, seed=3)
    np.testing.assert_array_equal(xv, xv2)


def test_pipelines_run_without_the_autotuner_that_stalls_the_end_of_fit():
    # Its thread made destroying the iterator wait up to ~20 s after training (pipeline.without_autotune).
    x, y = np.zeros((10, 28, 28), np.uint8), np.arange(10, dtype=np.uint8)
    train = data.one_hot(data.train_dataset(x, y, batch_size=4, seed=1, epochs=2))
    evaluation = data.one_hot(data.eval_dataset(x, y, batch_size=4))
    for dataset in (train, evaluation):
        assert dataset.options().autotune.enabled is False
    assert [len(labels) for _, labels in train] == [4, 4, 2, 4, 4, 2]
