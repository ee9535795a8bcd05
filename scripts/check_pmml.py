#!/usr/bin/env python3
"""Scores a CSV with an independent PMML engine (pypmml, on PMML4S) and
checks every score against Credence's own scored file.

usage: check_pmml.py MODEL.pmml SCORED.csv
SCORED.csv is the output of `credence score --model … --data … --out`: the
input columns plus Credence's `score`. Exits non-zero on any difference.
"""
import csv
import sys

from pypmml import Model


def main() -> int:
    pmml_path, scored_path = sys.argv[1], sys.argv[2]
    model = Model.fromFile(pmml_path)
    # Values are passed as the model's data dictionary types them, as a
    # PMML consumer would: text for string fields (a code "1" is the
    # category "1", where the number 1.0 would be "1.0"), numbers otherwise.
    inputs = [(field.name, field.dataType) for field in model.inputFields]
    mismatches = 0
    rows = 0
    with open(scored_path, newline="") as handle:
        for row in csv.DictReader(handle):
            record = {}
            for name, data_type in inputs:
                value = row.get(name, "")
                if value == "":
                    record[name] = None
                elif data_type == "string":
                    record[name] = value
                else:
                    try:
                        record[name] = float(value)
                    except ValueError:
                        record[name] = value
            result = model.predict(record)
            pmml_score = int(round(float(result["score"])))
            if pmml_score != int(row["score"]):
                mismatches += 1
                if mismatches <= 5:
                    print(f"row {rows + 2}: PMML {pmml_score} (raw {result['raw_points']}), Credence {row['score']}")
            rows += 1
    print(f"{rows} rows scored by PMML; {mismatches} differ from Credence")
    print(f"pmml: {rows - mismatches} passed, {mismatches} failed")
    return 1 if mismatches or rows == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
