"""Result objects as pandas DataFrames: one flattening rule, pandas imported only when asked for.

pandas is not a dependency of xadv (datasets pulls it in); a missing pandas is one XadvError line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from xadv.errors import XadvError


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings become dotted columns (`ci.f1_drop`); lists and scalars stay as they are."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def data_frame(rows: Iterable[Mapping[str, Any]]) -> Any:
    """A `pandas.DataFrame` with one row per mapping (flattened), columns in first-seen order."""
    try:
        import pandas as pd
    except ImportError:
        raise XadvError("to_pandas() needs pandas, which is not installed: pip install pandas") from None
    return pd.DataFrame([flatten(r) for r in rows])
