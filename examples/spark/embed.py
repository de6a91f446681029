#!/usr/bin/env python3
"""Embed a text column with kse inside Spark and write Parquet.

    spark-submit --master local[2] \\
        --archives target/spark/kse-bundle.tar.gz#kse \\
        --py-files examples/spark/kse_spark.py \\
        examples/spark/embed.py --input sentences.parquet --output embedded.parquet

Reads Parquet, CSV (with a header) or text (one sentence per line, column
`text`); adds `embedding` (array<float>, L2-normalised) to every row, keeping
all input columns, their order within each partition, and the partitioning;
writes Parquet. Spark distributes; kse encodes inside each executor's Python
workers, one encoder per worker, created on its first batch and reused for
every later batch and task (examples/spark/kse_spark.py).

Long texts: --long window embeds a whole document (windows of max tokens,
combined); the default cuts it at max tokens. Bad rows (null text; with
--long error a text over the model's max tokens): --on-error fail (default) fails the task with a message naming the
row (use --key-column to name it by key); --on-error null writes a null
embedding and the reason in column `kse_error`, and the job goes on.

A task that fails (a worker or executor that dies) is retried by Spark; its
partial output is discarded by Spark's output commit protocol, so the result
has every row exactly once. See examples/spark/README.md.
"""
from __future__ import annotations

import argparse
import re
import sys

#: The executor-side error kse_spark raises, as it appears in Spark's report.
KSE_ERROR = re.compile(r"^\s*(?:ValueError|RuntimeError): (kse(?::| bundle) .*)$")


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True, help="file or directory (Parquet, CSV or text)")
    ap.add_argument("--format", choices=("parquet", "csv", "text"), help="default: from the file extension")
    ap.add_argument("--output", required=True, help="Parquet directory to write")
    ap.add_argument("--mode", default="errorifexists", choices=("errorifexists", "overwrite"))
    ap.add_argument("--text-column", default="text")
    ap.add_argument("--key-column", help="a column naming rows in error messages")
    ap.add_argument("--archive", default="kse", help="the alias of the --archives bundle (default: kse)")
    ap.add_argument("--model", default="kse-ko-small",
                    help="a model directory name inside the bundle's models/, or an absolute path on the executors")
    ap.add_argument("--threads", type=int, default=1,
                    help="ONNX Runtime threads per encoder; each task slot (executor core) has its own encoder")
    ap.add_argument("--batch-size", type=int, default=256,
                    help="sentences per library call and per Arrow batch")
    ap.add_argument("--on-error", choices=("fail", "null"), default="fail")
    ap.add_argument("--long", choices=("truncate", "error", "window"), default="truncate",
                    help="a text over the model's max tokens: cut it (truncate), make it a bad row (error), or "
                         "embed all of it in overlapping windows combined into one vector (window; "
                         "docs/long-inputs.md)")
    ap.add_argument("--window-overlap", type=int, default=32, help="--long window: tokens consecutive windows share")
    ap.add_argument("--no-truncate", action="store_true", help="the same as --long error")
    ap.add_argument("--partitions", type=int, help="repartition the input first (by default Spark's split)")
    return ap.parse_args(argv)


def output_schema(input_schema):
    from pyspark.sql.types import ArrayType, FloatType, StringType, StructField, StructType

    fields = list(input_schema.fields) + [StructField("embedding", ArrayType(FloatType(), containsNull=False), True)]
    return StructType(fields)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    from pyspark.sql import SparkSession
    from pyspark.sql.types import StringType, StructField

    import kse_spark

    spark = (SparkSession.builder.appName("kse-embed")
             .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(args.batch_size))
             .getOrCreate())
    fmt = args.format or ("parquet" if args.input.rstrip("/").endswith(".parquet")
                          else "csv" if args.input.endswith(".csv") else "text")
    if fmt == "parquet":
        df = spark.read.parquet(args.input)
    elif fmt == "csv":
        df = spark.read.option("header", True).option("multiLine", True).option("escape", '"').csv(args.input)
    else:
        df = spark.read.text(args.input).withColumnRenamed("value", "text")
    if args.text_column not in df.columns:
        print(f"embed.py: the input has no column {args.text_column!r} (columns: {', '.join(df.columns)})",
              file=sys.stderr)
        return 2
    if args.partitions:
        df = df.repartition(args.partitions)

    opts = kse_spark.JobOptions(archive=args.archive, model=args.model, text_column=args.text_column,
                                threads=args.threads, batch_size=args.batch_size, on_error=args.on_error,
                                long="error" if args.no_truncate else args.long,
                                window_overlap=args.window_overlap, key_column=args.key_column)
    schema = output_schema(df.schema)
    if args.on_error == "null":
        schema = schema.add(StructField(kse_spark.ERROR, StringType(), True))
    out = df.mapInPandas(kse_spark.embed_partitions(opts), schema)
    try:
        out.write.mode(args.mode).parquet(args.output)
    except Exception as e:  # noqa: BLE001 - Spark wraps the executor's error in its own
        reason = next((m.group(1) for m in map(KSE_ERROR.match, str(e).splitlines()) if m), None)
        spark.stop()
        if reason is None:
            raise
        print(f"embed.py: error: {reason}", file=sys.stderr)
        return 1
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
