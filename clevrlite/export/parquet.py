"""Streaming parquet shards with Hugging Face ``datasets`` features, for the hf, verl, trl and
lmms-eval exports.

Rows go to the writer a row group at a time and shards close at a fixed row count, so memory
stays flat however large the benchmark; the schema carries the ``datasets`` features (images as
its Image feature: PNG bytes and a file name), so ``datasets.load_dataset("parquet", ...)``
gives back PIL images and typed columns.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Iterable

from clevrlite.errors import UsageError, needs_extra

ROWS_PER_GROUP = 128
ROWS_PER_SHARD = 1000
NEEDS_HF = needs_extra("this export needs the datasets and pyarrow libraries", "hf")


def libraries() -> tuple[Any, Any, Any]:
    """(datasets, pyarrow, pyarrow.parquet), or a usage error naming the extra to install."""
    try:
        import datasets
        import pyarrow
        import pyarrow.parquet as parquet
    except ImportError:
        raise UsageError(NEEDS_HF) from None
    return datasets, pyarrow, parquet


def list_of(feature: Any) -> Any:
    """A list feature, in whichever spelling the installed datasets has."""
    datasets = libraries()[0]
    return datasets.List(feature) if hasattr(datasets, "List") else datasets.Sequence(feature)


def write_split(folder: Path, split: str, rows: Iterable[dict[str, Any]], total: int,
                features: Any, convert: Callable[[dict[str, Any]], dict[str, Any]],
                sharded: bool = True) -> list[Path]:
    """Write ``total`` rows of ``split`` as shards ``{split}-00000-of-0000N.parquet``, or as
    one ``{split}.parquet`` (still written a row group at a time) when not ``sharded``; each
    source row is turned into a table row by ``convert`` as it is written."""
    _, pyarrow, parquet = libraries()
    schema = features.arrow_schema
    per_file = ROWS_PER_SHARD if sharded else max(total, 1)
    shards = max(1, math.ceil(total / per_file))
    paths = ([folder / f"{split}-{k:05d}-of-{shards:05d}.parquet" for k in range(shards)]
             if sharded else [folder / f"{split}.parquet"])
    writer, batch, written = None, [], 0

    def flush() -> None:
        if batch:
            writer.write_batch(pyarrow.RecordBatch.from_pylist(batch, schema=schema))
            batch.clear()

    try:
        for row in rows:
            shard = written // per_file
            if writer is None or written % per_file == 0:
                flush()
                if writer is not None:
                    writer.close()
                writer = parquet.ParquetWriter(paths[shard], schema, compression="snappy")
            batch.append(convert(row))
            written += 1
            if len(batch) == ROWS_PER_GROUP:
                flush()
        if writer is None:  # an empty split still gets its (empty) shard
            writer = parquet.ParquetWriter(paths[0], schema, compression="snappy")
        flush()
    finally:
        if writer is not None:
            writer.close()
    return paths
