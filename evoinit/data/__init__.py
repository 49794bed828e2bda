"""Datasets: scikit-learn's bundled sets, generators and user CSV/NPZ files, split and scaled.

``dataset`` holds ``DataSpec``, ``Dataset``, ``load`` and ``from_arrays``; ``builtin`` the named
datasets; ``files`` the readers of a user's CSV or NPZ file; ``standardize`` the scaling. The
names below are imported on first use, so importing ``evoinit.data.files`` loads no NumPy model.
"""

import importlib

_NAMES = {"DataSpec": "dataset", "Dataset": "dataset", "load": "dataset", "from_arrays": "dataset",
          "names": "builtin", "describe": "builtin", "make_spirals": "builtin"}
__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module(f"evoinit.data.{_NAMES[name]}"), name)
    raise AttributeError(f"module 'evoinit.data' has no attribute {name!r}")
