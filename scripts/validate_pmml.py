#!/usr/bin/env python3
"""Validates PMML files against the PMML 4.4 XML schema (data/pmml/).

usage: validate_pmml.py FILE.pmml... [--expect-invalid FILE.pmml...]
Prints each file's verdict and the first problems; exits non-zero when a
file is not valid, or when a file given after --expect-invalid is (that
proves the validator rejects what it should, on every run).
"""
import os
import sys

import xmlschema

SCHEMA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "pmml", "pmml-4-4.xsd")


def problems(schema, path):
    return [f"{error.path}: {error.reason}" for error in schema.iter_errors(path)]


def main(arguments) -> int:
    schema = xmlschema.XMLSchema(SCHEMA)
    failed = 0
    expect_invalid = False
    for path in arguments:
        if path == "--expect-invalid":
            expect_invalid = True
            continue
        found = problems(schema, path)
        if expect_invalid:
            if found:
                print(f"{os.path.basename(path)}: rejected as it should be ({found[0]})")
            else:
                print(f"{os.path.basename(path)}: accepted, but it is broken on purpose")
                failed += 1
        elif found:
            print(f"{os.path.basename(path)}: NOT valid against the PMML 4.4 schema")
            for problem in found[:5]:
                print(f"  {problem}")
            failed += 1
        else:
            print(f"{os.path.basename(path)}: valid against the PMML 4.4 schema")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
