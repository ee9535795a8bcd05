#!/usr/bin/env python3
"""Runs a scorecard exported as SQL on three engines and checks every
score against Credence's own scored file.

usage: check_sql.py MODEL.sql SCORED.csv [--postgres PORT]

SCORED.csv is the output of `credence score --model … --data … --out`: the
input columns plus Credence's `score`, `band`, `pd` and reasons. The input
columns are loaded

- into SQLite with every column TEXT and missing values as empty cells,
  as `sqlite3 .import` makes a table (the case that used to mis-score);
- into DuckDB twice: with the types its CSV reader detects, and with every
  column VARCHAR;
- into PostgreSQL (when --postgres gives the port of a running server)
  twice: with every column text, and with numeric columns as double
  precision (missing values NULL);

and the exported SELECT is run on each. Exits non-zero on any difference,
or when an engine refuses the SQL.
"""
import csv
import sqlite3
import subprocess
import sys
import tempfile
import os

ADDED = {"score", "band", "pd", "reason_1", "reason_2", "reason_3", "reason_4"}


def read_scored(path):
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    inputs = [i for i, name in enumerate(header) if name not in ADDED]
    score = header.index("score")
    band = header.index("band")
    names = [header[i] for i in inputs]
    table = [[row[i] for i in inputs] for row in rows]
    expected = [(int(row[score]), row[band]) for row in rows]
    return names, table, expected


def quote(name):
    return '"' + name.replace('"', '""') + '"'


def numeric_columns(names, table):
    numeric = []
    for j, _ in enumerate(names):
        ok = True
        for row in table:
            value = row[j]
            if value == "":
                continue
            try:
                float(value)
            except ValueError:
                ok = False
                break
        numeric.append(ok)
    return numeric


def select(sql):
    body = sql.strip().rstrip(";")
    return f"SELECT row_id, score, band FROM ({body}) AS exported ORDER BY row_id"


def compare(engine, got, expected):
    mismatches = 0
    for i, ((score, band), (want_score, want_band)) in enumerate(zip(got, expected)):
        if int(score) != want_score or band != want_band:
            mismatches += 1
            if mismatches <= 5:
                print(f"  {engine}, row {i + 2}: SQL {score} {band}, Credence {want_score} {want_band}")
    if len(got) != len(expected):
        print(f"  {engine}: {len(got)} rows back, {len(expected)} expected")
        mismatches += abs(len(got) - len(expected)) or 1
    print(f"  {engine}: {len(got)} rows scored by the exported SQL; {mismatches} differ from Credence")
    return mismatches


def run_sqlite(sql, names, table):
    db = sqlite3.connect(":memory:")
    columns = ", ".join(f"{quote(n)} TEXT" for n in names)
    db.execute(f"CREATE TABLE source_rows (row_id INTEGER, {columns})")
    marks = ", ".join("?" for _ in range(len(names) + 1))
    db.executemany(
        f"INSERT INTO source_rows VALUES ({marks})",
        ([i] + row for i, row in enumerate(table)),
    )
    return db.execute(select(sql)).fetchall()


def run_duckdb(sql, names, table, all_varchar):
    import duckdb

    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "rows.csv")
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["row_id"] + names)
            for i, row in enumerate(table):
                writer.writerow([i] + row)
        db = duckdb.connect()
        option = ", all_varchar = true" if all_varchar else ""
        db.execute(f"CREATE TABLE source_rows AS SELECT * FROM read_csv('{path}', header = true{option})")
        if all_varchar:
            db.execute("ALTER TABLE source_rows ALTER row_id TYPE INTEGER")
        return db.execute(select(sql)).fetchall()


def psql(port, command, stdin=None):
    result = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(port),
         "-U", "postgres", "-d", "postgres", "-A", "-t", "-F", ",", "-c", command],
        input=stdin, capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"psql: {result.stderr.strip()}")
    return result.stdout


def run_postgres(sql, names, table, port, typed):
    numeric = numeric_columns(names, table)
    kinds = [("double precision" if typed and is_number else "text") for is_number in numeric]
    columns = ", ".join(f"{quote(n)} {k}" for n, k in zip(names, kinds))
    psql(port, f"DROP TABLE IF EXISTS source_rows; CREATE TABLE source_rows (row_id integer, {columns})")
    lines = []
    for i, row in enumerate(table):
        cells = [str(i)]
        for value, kind in zip(row, kinds):
            if value == "" and kind != "text":
                cells.append("\\N")
            else:
                cells.append(value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n"))
        lines.append("\t".join(cells))
    psql(port, "COPY source_rows FROM STDIN", stdin="\n".join(lines) + "\n")
    out = psql(port, select(sql))
    rows = []
    for line in out.splitlines():
        if line.strip():
            row_id, score, band = line.split(",")
            rows.append((int(score), band))
    return rows


def main():
    sql_path, scored_path = sys.argv[1], sys.argv[2]
    port = None
    if "--postgres" in sys.argv:
        port = int(sys.argv[sys.argv.index("--postgres") + 1])
    sql = open(sql_path).read()
    names, table, expected = read_scored(scored_path)
    failures = 0
    engines = [
        ("SQLite, text columns", lambda: run_sqlite(sql, names, table)),
        ("DuckDB, detected types", lambda: run_duckdb(sql, names, table, False)),
        ("DuckDB, text columns", lambda: run_duckdb(sql, names, table, True)),
    ]
    if port is not None:
        engines += [
            ("PostgreSQL, text columns", lambda: run_postgres(sql, names, table, port, False)),
            ("PostgreSQL, typed columns", lambda: run_postgres(sql, names, table, port, True)),
        ]
    passed = 0
    for engine, run in engines:
        try:
            got = [(score, band) for *_, score, band in run()]
        except Exception as error:  # an engine refusing the SQL is a failure
            print(f"  {engine}: the exported SQL failed: {error}")
            failures += 1
            continue
        if compare(engine, got, expected):
            failures += 1
        else:
            passed += 1
    print(f"sql: {passed} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
