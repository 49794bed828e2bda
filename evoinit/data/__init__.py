"""Datasets: scikit-learn's bundled sets, generators and user CSV/NPZ files, split and scaled.

``spec`` holds the values ``DataSpec`` and ``Dataset``; ``dataset`` turns one into the other
(``load``, ``from_arrays``, the split); ``builtin`` the named datasets; ``files`` the readers of a user's CSV or NPZ file; ``standardize`` the scaling. The
names below are imported on first use, so importing ``evoinit.data.files`` loads no NumPy model.
"""

import importlib

_NAMES = {"DataSpec": "spec", "Dataset": "spec", "test_rows": "spec", "load": "dataset",
          "from_arrays": "dataset", "split": "dataset", "curves_on_test": "dataset", "names": "builtin",
          "describe": "builtin", "make_spirals": "builtin"}
__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module(f"evoinit.data.{_NAMES[name]}"), name)
    raise AttributeError(f"module 'evoinit.data' has no attribute {name!r}")
