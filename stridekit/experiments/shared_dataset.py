"""Datasets shared with workers: built once by the driver, read in place by every trial.

The Ray backend puts a dataset that lives in memory (generated, or bundled with a
package) in Ray's object store once, as numpy arrays: Ray hands a task the arrays of an
object in the store as read-only views of the node's shared memory, so every worker on
a node reads one copy, and `provide_dataset` makes the trial's `load_dataset` return it.
A dataset read from files is not shared this way: each worker reads it from ``root``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from stridekit.errors import StrideError
from stridekit.experiments.spec import DatasetConfig

if TYPE_CHECKING:
    from stridekit.experiments.datasets import Dataset

# torch and the datasets are imported where they are used: a Ray worker whose trial
# never touches them (a stand-in in the tests) starts without paying for torch's import


@dataclass(frozen=True)
class SharedDataset:
    """A dataset as numpy arrays, the form it takes in Ray's object store.

    Ray hands a task the numpy arrays of an object in the store as read-only views of the
    node's shared memory, so every worker on a node reads the one copy; `to_dataset`
    wraps them as tensors without copying (training only reads them).

    >>> import torch
    >>> from stridekit.experiments.datasets import load_dataset
    >>> data = load_dataset(DatasetConfig(name="synthetic-detail",
    ...                                   options={"n_train": 8, "n_test": 4}))
    >>> back = SharedDataset.of(data).to_dataset()
    >>> torch.equal(back.train.x, data.train.x), back.train.x.data_ptr() == data.train.x.data_ptr()
    (True, True)
    """

    name: str
    task: str
    num_classes: int
    arrays: dict[str, np.ndarray]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def of(cls, data: Dataset) -> SharedDataset:
        arrays = {
            "train_x": data.train.x.numpy(),
            "train_y": data.train.y.numpy(),
            "test_x": data.test.x.numpy(),
            "test_y": data.test.y.numpy(),
        }
        return cls(data.name, data.task, data.num_classes, arrays, data.mean, data.std)

    def to_dataset(self) -> Dataset:
        import torch

        from stridekit.experiments.datasets import Dataset, Split

        with warnings.catch_warnings():
            # the store's arrays are read-only; torch warns that it cannot mark a tensor so
            warnings.filterwarnings("ignore", "The given NumPy array is not writable")
            tensors = {name: torch.from_numpy(array) for name, array in self.arrays.items()}
        return Dataset(
            self.name,
            self.task,
            self.num_classes,
            Split(tensors["train_x"], tensors["train_y"]),
            Split(tensors["test_x"], tensors["test_y"]),
            self.mean,
            self.std,
        )


def shared_dataset_key(config: Any) -> tuple[str, int | None] | None:
    """The key of a trial config's dataset if it lives in memory (what the driver shares
    through the object store), None when it is read from files or the config has none.

    >>> from stridekit.experiments.spec import TrialConfig
    >>> shared_dataset_key(TrialConfig(dataset="synthetic-detail", input_size=24))[1]
    24
    >>> shared_dataset_key(TrialConfig(dataset={"name": "cifar10", "root": "/data"})) is None
    True
    """
    dataset = getattr(config, "dataset", None)
    if not isinstance(dataset, DatasetConfig):
        return None
    from stridekit.experiments.datasets import source_of

    try:
        source, _ = source_of(dataset)
    except StrideError:  # the trial itself will fail with the reason
        return None
    if source.on_disk:
        return None
    return dataset.model_dump_json(), getattr(config, "input_size", None)
