"""Reading a user's CSV or NPZ file into plain arrays, with one clear error for each way it can be wrong.

``read_csv`` and ``read_npz`` return ``(X float64, y float64 or str labels, feature names, source)``
(``read_npz`` also the file's own test rows, or None); ``read`` is either by the file's suffix,
``read_test_file`` a dataset's second file of test rows, checked against the training file's
columns. ``evoinit.data`` decides the task, splits and scales. The rules (header row, target
column, what counts as missing, ``allow_pickle=False``) are in ``evoinit.data``'s docstring.
"""

from __future__ import annotations

import csv
import math
import os
import stat
import zipfile

import numpy as np

from evoinit.errors import DataError, UsageError, clip, one_line, quoted

#: Cells read as missing values (compared lower-cased, stripped): rejected, never imputed.
MISSING = {"", "na", "n/a", "nan", "null", "none", "?"}
FILE_TYPES = (".csv", ".npz")
#: Integers past 2**53 are not all floats: labels that big are compared as integers (as text).
EXACT_INTEGERS = 2**53
#: The loaded data is copied several times (float64, the split, the scaled parts): an array read
#: from a file may take at most this share of the machine's memory, as float64.
MEMORY_SHARE = 8
#: Array kinds an .npz may hold (bool, integers, floats, text): complex numbers would lose their
#: imaginary part, objects need pickle, structured records and dates are no features.
NPZ_KINDS = {"X": "biufUS", "y": "biufUS", "feature_names": "US", "X_test": "biufUS", "y_test": "biufUS"}


def regular_file(path: str) -> None:
    """Refuse what is not a regular file before opening it: a named pipe would block, a device
    (``/dev/zero``) never end. A missing path is left for ``open`` to report."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode):
        what = ("a named pipe" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a folder" if stat.S_ISDIR(mode) else "not a regular file")
        raise DataError(f"{path} is {what}; a dataset is a regular .csv or .npz file")


def memory_limit() -> int | None:
    """The bytes of float64 data a file may declare (``MEMORY_SHARE``), None where unknown."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // MEMORY_SHARE
    except (AttributeError, ValueError, OSError):
        return None


def columns(d: int) -> tuple[str, ...]:
    """Default feature names x0, x1, …"""
    return tuple(f"x{j}" for j in range(d))


def read(path: str, target: str | None):
    """(X, y, feature names, source, the file's own test rows or None) of a .csv/.npz file, every
    way a path can be wrong one ``DataError``."""
    if not os.path.exists(path):
        raise DataError(f"no such file: {path}")
    if os.path.isdir(path):
        raise DataError(f"{path} is a directory, not a .csv or .npz file")
    ext = os.path.splitext(path)[1].lower()
    if ext not in FILE_TYPES:
        raise DataError(f"{path}: unsupported file type '{ext}'; use .csv (with a header row) or .npz (arrays X, y)")
    if ext == ".csv":
        return (*read_csv(path, target), None)
    return read_npz(path, target)


def read_test_file(path: str, target: str | None, feature_names) -> tuple:
    """(X_test, y_test, source, origin) from the test file: read and checked as a dataset file is
    (a CSV with the training file's target rule; an .npz's X, y), its columns the training rows'."""
    if not os.path.exists(path):
        raise DataError(f"no such test file: {path}")
    is_csv = os.path.splitext(path)[1].lower() == ".csv"
    X, y, names, _, own = read(path, target if is_csv else None)
    if own is not None:
        raise DataError(f"{path}: a test file holds its rows as X, y; it has X_test, y_test too")
    if len(names) != len(feature_names):
        raise DataError(f"{path}: the test rows have {len(names)} feature columns but the training rows "
                        f"have {len(feature_names)}")
    named = (names != columns(len(names)), feature_names != columns(len(feature_names)))
    if all(named) and names != tuple(feature_names):
        j = next(j for j, (a, b) in enumerate(zip(names, feature_names)) if a != b)
        raise DataError(f"{path}: the test file's columns are not the training file's: feature column "
                        f"{j + 1} is '{names[j]}' where the training file has '{feature_names[j]}'")
    return X, y, f"the test file {path}", path


def read_csv(path: str, target: str | None):
    """(X, y labels as float64 or str, feature names, source) from a CSV file with a header row."""
    rows, lines = [], []
    regular_file(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            for row in reader:
                if row and (len(row) > 1 or row[0].strip()):  # blank lines are skipped
                    rows.append(row)
                    lines.append(reader.line_num)
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text; is it really a CSV file?") from None
    except csv.Error as e:
        raise DataError(f"{path}: line {reader.line_num}: {one_line(e)}") from None
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror}") from None
    if not rows:
        raise DataError(f"{path}: the file is empty; expected a header row and data rows")
    header = [h.strip() for h in rows[0]]
    for j, h in enumerate(header):
        if not h:
            raise DataError(f"{path}: column {j + 1} has no name in the header row")
        if header.index(h) != j:
            raise DataError(f"{path}: column name {quoted(h)} appears twice in the header row")
    data, lines = rows[1:], lines[1:]
    if not data:
        raise DataError(f"{path}: no data rows, only a header")
    for row, line in zip(data, lines):
        if len(row) != len(header):
            raise DataError(f"{path}: line {line} has {len(row)} values but the header has {len(header)} columns")
    if target is None:
        t = header.index("target") if "target" in header else len(header) - 1
    elif target in header:
        t = header.index(target)
    else:
        raise DataError(f"{path}: no target column {quoted(target)}; columns: {clip(', '.join(header), 200)}")
    if len(header) < 2:
        raise DataError(f"{path}: only the target column {quoted(header[t])} was found; features are needed too "
                        "(is the file comma-separated?)")
    columns = [[c.strip() for c in col] for col in zip(*data)]

    def at(j, i):
        return f"column {quoted(header[j])} at line {lines[i]} (data row {i + 1})"

    for i, v in enumerate(columns[t]):
        if v.lower() in MISSING:
            raise DataError(f"{path}: missing value {quoted(v)} in the target {at(t, i)}")
    features = [j for j in range(len(header)) if j != t]
    X = np.column_stack([_floats(columns[j], lambda i, what, j=j: f"{path}: {what} in {at(j, i)}") for j in features])
    try:
        y = np.array([float(v) for v in columns[t]])
    except ValueError:
        y = np.array(columns[t], dtype=str)
    else:
        bad = np.flatnonzero(~np.isfinite(y))
        if bad.size:
            raise DataError(f"{path}: non-finite value {quoted(columns[t][bad[0]])} in the target {at(t, bad[0])}")
        y = exact_labels(columns[t], y)
    return X, y, tuple(header[j] for j in features), f"file {path} (target '{header[t]}')"


def exact_labels(cells: list[str], y: np.ndarray) -> np.ndarray:
    """``y`` (the cells as floats), or — when integer cells past 2**53 would merge as floats
    (``99999999999999999999999`` and ``…998`` are one float) — the cells as text labels, integers
    written in their plain form (``+7``, ``07`` → ``7``), so every distinct label stays a class."""
    if not np.any(np.abs(y) >= EXACT_INTEGERS):
        return y
    exact = []
    for v, f in zip(cells, y.tolist()):
        try:
            exact.append(str(int(v)))
        except ValueError:   # 1.0 is the label 1; 1.5 or 1e30 are their floats
            exact.append(str(int(f)) if f.is_integer() and abs(f) < EXACT_INTEGERS else repr(f))
    if len(set(exact)) == len(np.unique(y)):
        return y
    return np.array(exact, dtype=str)


def _floats(cells: list[str], where) -> np.ndarray:
    """One feature column as float64. NumPy parses the column at once; if that fails or gives a
    NaN/inf, a cell-by-cell pass names the first bad cell (``where(i, what)`` words the message)."""
    try:
        values = np.array(cells, dtype=np.float64)
        if np.isfinite(values).all():
            return values
    except ValueError:
        pass
    for i, v in enumerate(cells):
        if v.lower() in MISSING:
            raise DataError(where(i, f"missing value {quoted(v)}"))
        try:
            x = float(v)
        except ValueError:
            raise DataError(where(i, f"non-numeric value {quoted(v)}") + "; features must be numeric "
                            "(only the target column may hold text labels)") from None
        if not math.isfinite(x):
            raise DataError(where(i, f"{'NaN' if x != x else 'infinite'} value {quoted(v)}"))
    return np.array([float(v) for v in cells])  # NumPy and Python disagreed; Python's reading wins


def read_npz(path: str, target: str | None):
    """(X, y, feature names, source, test) from an .npz archive of plain arrays X, y[, feature_names]
    [, X_test, y_test]: ``test`` is ``(X_test, y_test)``, the file's own test rows, checked as X and
    y are (the same columns are ``data``'s to check), or None."""
    if target is not None:
        raise UsageError(f"target names a CSV column; the target of {path} is its array 'y'")
    regular_file(path)
    try:
        archive = np.load(path, allow_pickle=False, mmap_mode="r")  # a lone .npy: mapped, not read
    except EOFError:
        raise DataError(f"{path}: the file is empty") from None
    except (ValueError, OSError, zipfile.BadZipFile, NotImplementedError, RuntimeError) as e:
        # a truncated or damaged zip, an unknown compression, an encrypted member
        raise DataError(f"{path}: not a NumPy .npz archive of plain arrays ({one_line(e) or type(e).__name__})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: holds a single .npy array, not an .npz archive with arrays X and y")
    with archive:
        if not {"X", "y"} <= set(archive.files):
            raise DataError(f"{path}: needs arrays 'X' and 'y'; found: {', '.join(archive.files) or 'none'}")
        arrays = {}
        if ("X_test" in archive.files) != ("y_test" in archive.files):
            has, lacks = ("X_test", "y_test") if "X_test" in archive.files else ("y_test", "X_test")
            raise DataError(f"{path}: has array '{has}' but no '{lacks}'; its own test rows need both")
        for name in ("X", "y", "feature_names", "X_test", "y_test"):
            if name in archive.files:
                _check_header(archive, name, path)
                try:
                    arrays[name] = archive[name]
                except Exception as e:  # zip, format and pickle errors alike: the file is unusable
                    raise DataError(f"{path}: cannot read array '{name}': {one_line(e)}") from None
                if not isinstance(arrays[name], np.ndarray):
                    raise DataError(f"{path}: '{name}' is not a NumPy array")
    names = arrays.get("feature_names")

    def feature_names(d):
        if names is None:
            return columns(d)
        if names.ndim != 1 or len(names) != d or names.dtype.kind not in "US":
            raise DataError(f"{path}: feature_names must be {d} strings, got {names.dtype} of shape {names.shape}")
        return tuple(map(str, names.astype(str)))

    X, y, feature_names = check_arrays(arrays["X"], arrays["y"], path, feature_names)
    test = None
    if "X_test" in arrays:
        X_test, y_test, _ = check_arrays(arrays["X_test"], arrays["y_test"], path, columns,
                                         called=("X_test", "y_test"))
        test = (X_test, y_test)
    return X, y, feature_names, f"file {path} (arrays X, y)", test


def npy_header(archive, name: str) -> tuple[tuple, np.dtype]:
    """(shape, dtype) of array ``name`` in an open .npz ``archive``, from its .npy header alone — a
    few hundred bytes, nothing decompressed or allocated (zip or format errors raise)."""
    member = f"{name}.npy" if f"{name}.npy" in archive.zip.namelist() else name
    with archive.zip.open(member) as f:
        version = np.lib.format.read_magic(f)
        read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        if version not in read:
            raise ValueError(f".npy format version {version[0]}.{version[1]}")
        shape, _, dtype = read[version](f)
    return tuple(shape), dtype


def _check_header(archive, name: str, path: str) -> None:
    """Read the .npy header of array ``name`` inside the zip — a few hundred bytes, not the data —
    and refuse, before anything is decompressed or allocated, a kind it may not hold
    (``NPZ_KINDS``) or a shape whose float64 copy would pass ``memory_limit()``: a small file can
    declare terabytes of zeros."""
    try:
        shape, dtype = npy_header(archive, name)
    except Exception as e:  # zip and format errors alike: the file is unusable
        raise DataError(f"{path}: cannot read array '{name}': {one_line(e, 80) or type(e).__name__}") from None
    if dtype.hasobject:
        raise DataError(f"{path}: cannot read array '{name}': it holds Python objects, which only pickle "
                        "reads (evoinit never unpickles); save numbers or text")
    if dtype.kind not in NPZ_KINDS[name]:
        what = {"c": "complex numbers (their imaginary part would be lost)", "V": "structured records",
                "M": "dates", "m": "time spans"}.get(dtype.kind, f"dtype {dtype}")
        raise DataError(f"{path}: array '{name}' holds {what}; use real numbers" +
                        (" or text" if "U" in NPZ_KINDS[name] else ""))
    n = math.prod(shape)
    size = n * max(dtype.itemsize, 8)
    limit = memory_limit()
    if limit is not None and size > limit:
        raise DataError(f"{path}: array '{name}' declares shape {clip(tuple(shape), 60)} of {dtype} "
                        f"({size / 2**30:,.1f} GiB as float64); a dataset may take at most {limit / 2**30:,.1f} "
                        f"GiB (1/{MEMORY_SHARE} of this machine's memory: the data is copied several times)")


def check_arrays(X, y, origin: str, feature_names, *, called=("X", "y")):
    """(X float64, y float64 or str labels, feature names) from arrays given in memory or read from
    an .npz file: one rule set and one message for each way they can be wrong (``origin`` starts
    the message, ``called`` what it calls the two arrays, e.g. X_test, y_test). ``feature_names(d)``
    gives the names of X's d columns (or raises)."""
    xn, yn = called
    X = np.asarray(X)
    if X.dtype.kind == "c":
        raise DataError(f"{origin}: X holds complex numbers; features must be real (the imaginary part "
                        "would be lost)")
    if X.dtype.kind not in "biuf":
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError):
            raise DataError(f"{origin}: {xn} has dtype {X.dtype}; features must be numeric") from None
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise DataError(f"{origin}: {xn} must be 2-D (samples × features) with data, got shape {X.shape}")
    X = np.asarray(X, dtype=np.float64)
    names = tuple(feature_names(X.shape[1]))
    bad = np.argwhere(~np.isfinite(X))
    if bad.size:
        i, j = bad[0]
        raise DataError(f"{origin}: {'NaN' if np.isnan(X[i, j]) else 'infinite'} value at {xn}[{i}, {j}] "
                        f"(column '{names[j]}')")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim not in (1, 2) or len(y) != len(X):
        raise DataError(f"{origin}: {xn} has {len(X)} rows but {yn} has shape {y.shape}; {yn} needs one row "
                        f"per row of {xn}")
    if y.dtype.kind in "OSU":
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError):
            if y.ndim != 1:
                raise DataError(f"{origin}: {yn} has shape {y.shape}; text labels need one label per row") from None
            y = y.astype(str)
            empty = np.flatnonzero(np.char.strip(y) == "")
            if empty.size:
                raise DataError(f"{origin}: missing (empty) label at {yn}[{empty[0]}]")
    elif y.dtype.kind in "iu" and y.ndim == 1 and np.any((y >= EXACT_INTEGERS) | (y <= -EXACT_INTEGERS)) \
            and len(np.unique(y)) != len(np.unique(y.astype(np.float64))):
        y = y.astype(str)   # integer labels past 2**53 that floats would merge: compared as text
    elif y.dtype.kind in "biuf":
        y = y.astype(np.float64)
    else:
        raise DataError(f"{origin}: {yn} has dtype {y.dtype} and shape {y.shape}; use numbers, or one text "
                        "label per row")
    if y.dtype.kind == "f":
        bad = np.argwhere(~np.isfinite(y))
        if bad.size:
            raise DataError(f"{origin}: non-finite value at {yn}[{', '.join(map(str, bad[0]))}]")
    return X, y, names
