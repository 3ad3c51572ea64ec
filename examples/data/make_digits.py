"""Make digits_pixels.csv and digits_onehot.csv from scikit-learn's copy of the UCI digits.

    pip download scikit-learn --no-deps -d /tmp/skl
    unzip -o /tmp/skl/scikit_learn-*.whl sklearn/datasets/data/digits.csv.gz -d /tmp/skl
    python examples/data/make_digits.py /tmp/skl/sklearn/datasets/data/digits.csv.gz

digits.csv.gz has 1,797 rows of 65 integers and no header: the 8x8 image row by row (64 pixels,
0 to 16), then the digit (0 to 9). The rows are kept in their order; the pixels go to
digits_pixels.csv as they are, the digit to digits_onehot.csv as ten 0/1 columns.
"""
from __future__ import annotations

import csv
import gzip
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(source: str) -> None:
    with gzip.open(source, "rt", newline="") as f:
        rows = [[int(float(cell)) for cell in row] for row in csv.reader(f) if row]
    assert len(rows) == 1797 and all(len(r) == 65 for r in rows), "not the 1,797 x 65 digits file"
    with open(HERE / "digits_pixels.csv", "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow([f"r{r}c{c}" for r in range(8) for c in range(8)])
        out.writerows(row[:64] for row in rows)
    with open(HERE / "digits_onehot.csv", "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow([f"d{d}" for d in range(10)])
        out.writerows([int(row[64] == d) for d in range(10)] for row in rows)


if __name__ == "__main__":
    main(sys.argv[1])
