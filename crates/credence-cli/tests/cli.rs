//! End-to-end tests of the real `credence` binary.

// In a folder of their own, so cargo does not take them for test binaries.
#[path = "cli/crash_loop.rs"]
mod crash_loop;
#[path = "cli/harness.rs"]
mod harness;
#[path = "cli/nodes.rs"]
mod nodes;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn credence(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_credence"))
        .args(args)
        .current_dir(dir)
        .env_remove("CREDENCE_DB")
        .env_remove("CREDENCE_CONFIG")
        .env_remove("CREDENCE_AGEING_YEARS")
        .env_remove("CREDENCE_AUDIT_KEY_FILE")
        .output()
        .expect("the binary runs")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let output = credence(dir, args);
    assert!(
        output.status.success(),
        "credence {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn fails(dir: &Path, args: &[&str]) -> String {
    let output = credence(dir, args);
    assert!(
        !output.status.success(),
        "credence {args:?} should have failed"
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Scores `data` with `model` through `credence score` (into
/// `<data>.scored`) and returns the `score` column.
fn scores_of_file(dir: &Path, model: &str, data: &str) -> Vec<i64> {
    let out = format!("{data}.scored");
    ok(
        dir,
        &["score", "--model", model, "--data", data, "--out", &out],
    );
    let text = std::fs::read_to_string(dir.join(&out)).expect("scored");
    let mut lines = text.lines();
    let column = lines
        .next()
        .and_then(|header| header.split(',').position(|c| c == "score"))
        .expect("a score column");
    lines
        .map(|line| {
            line.split(',')
                .nth(column)
                .and_then(|s| s.parse().ok())
                .expect("a score")
        })
        .collect()
}

#[test]
fn simulate_import_rescore_score_explain() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    ok(
        d,
        &[
            "simulate",
            "--subjects",
            "300",
            "--seed",
            "5",
            "--until",
            "2026-06-01",
            "--out",
            "world.jsonl",
        ],
    );
    let first_line = std::fs::read_to_string(d.join("world.jsonl"))
        .expect("written")
        .lines()
        .next()
        .map(str::to_string)
        .expect("a line");
    let first: Value = serde_json::from_str(&first_line).expect("JSON Lines");
    assert_eq!(
        first["subject_id"], "sub-00000000",
        "simulated events carry subject_id"
    );
    assert_eq!(first["kind"], "subject_enrolled");

    let imported = ok(d, &["import", "world.jsonl", "--json"]);
    let summary: Value = serde_json::from_str(&imported).expect("JSON summary");
    let inserted = summary[0]["summary"]["inserted"].as_u64().expect("count");
    assert!(inserted > 300 * 20, "{inserted} events");
    let again: Value =
        serde_json::from_str(&ok(d, &["import", "world.jsonl", "--json"])).expect("JSON");
    assert_eq!(again[0]["summary"]["inserted"], 0);
    assert_eq!(
        again[0]["summary"]["duplicates"].as_u64(),
        Some(inserted),
        "re-import is idempotent"
    );

    let rescored: Value =
        serde_json::from_str(&ok(d, &["rescore", "--as-of", "2026-06-01", "--json"]))
            .expect("JSON");
    assert_eq!(rescored["subjects"], 300);
    assert!(rescored["scored"].as_u64().expect("count") > 200);
    // Three machines' shares cover every subject once.
    let shares: Vec<u64> = ["1/3", "2/3", "3/3"]
        .iter()
        .map(|part| {
            let share: Value = serde_json::from_str(&ok(
                d,
                &["rescore", "--as-of", "2026-06-01", "--part", part, "--json"],
            ))
            .expect("JSON");
            share["subjects"].as_u64().expect("count")
        })
        .collect();
    assert_eq!(shares.iter().sum::<u64>(), 300, "{shares:?}");
    assert!(
        shares.iter().all(|&n| n > 50),
        "the shares are even: {shares:?}"
    );
    for bad in ["0/3", "4/3", "two", "1/99999999999"] {
        let refused = fails(d, &["rescore", "--part", bad]);
        assert!(refused.contains("K/N"), "{bad}: {refused}");
    }

    let score: Value = serde_json::from_str(&ok(
        d,
        &["score", "sub-00000001", "--as-of", "2026-06-01", "--json"],
    ))
    .expect("JSON");
    for field in [
        "status",
        "score",
        "band",
        "dimensions",
        "reasons",
        "model_version",
        "as_of",
    ] {
        assert!(
            score.get(field).is_some(),
            "score --json lacks {field}: {score}"
        );
    }
    let dimensions = score["dimensions"].as_object().expect("an object");
    for name in ["history", "capacity", "behaviour", "identity", "fulfilment"] {
        assert!(dimensions.contains_key(name), "dimension {name}");
    }
    assert!(score["reasons"].as_array().expect("array").len() <= 4);
    match score["status"].as_str() {
        Some("scored") => assert!(
            score["score"]
                .as_i64()
                .is_some_and(|s| (350..=950).contains(&s))
        ),
        Some("not_enough_data") => assert!(score["score"].is_null()),
        other => panic!("status {other:?}"),
    }
    // Same as-of, same events, same model: the same answer every time.
    let twice: Value = serde_json::from_str(&ok(
        d,
        &["score", "sub-00000001", "--as-of", "2026-06-01", "--json"],
    ))
    .expect("JSON");
    assert_eq!(score, twice);

    let explained = ok(d, &["explain", "sub-00000001", "--as-of", "2026-06-01"]);
    assert!(
        explained.contains("on_time_ratio_24m") && explained.contains("base points"),
        "{explained}"
    );
    let human = ok(d, &["score", "sub-00000001", "--as-of", "2026-06-01"]);
    assert!(human.contains("Friends, contacts and connections are never part of it"));

    let unknown = fails(d, &["score", "sub-99999999"]);
    assert!(unknown.contains("no subject sub-99999999"), "{unknown}");
}

#[test]
fn simulate_is_deterministic_per_seed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    for name in ["a.jsonl", "b.jsonl"] {
        ok(
            d,
            &[
                "simulate",
                "--subjects",
                "150",
                "--seed",
                "9",
                "--until",
                "2026-01-01",
                "--out",
                name,
            ],
        );
    }
    ok(
        d,
        &[
            "simulate",
            "--subjects",
            "150",
            "--seed",
            "10",
            "--until",
            "2026-01-01",
            "--out",
            "c.jsonl",
        ],
    );
    let read = |n: &str| std::fs::read(d.join(n)).expect("read");
    assert_eq!(read("a.jsonl"), read("b.jsonl"));
    assert_ne!(read("a.jsonl"), read("c.jsonl"));
}

#[test]
fn an_overlong_line_or_header_stops_an_import_at_once_and_keeps_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let good = r#"{"furnisher_id":"op","event_id":"e1","subject_id":"s1","kind":"subject_enrolled","occurred_at":"2024-01-01","subject_kind":"person"}"#;
    let long = format!("{{\"furnisher_id\":\"{}\"}}", "x".repeat(3 << 20));
    std::fs::write(d.join("long.jsonl"), format!("{good}\n{long}\n")).expect("write");
    std::fs::write(
        d.join("long.csv"),
        format!("furnisher_id,{}\n", "y".repeat(3 << 20)),
    )
    .expect("write");
    for file in ["long.jsonl", "long.csv"] {
        let stderr = fails(d, &["import", file]);
        assert!(
            stderr.contains("a line longer than 1 MiB"),
            "{file}: {}",
            &stderr[..stderr.len().min(500)]
        );
        assert!(
            stderr.len() < 2_000,
            "{file}: the message does not echo the line ({} bytes)",
            stderr.len()
        );
    }
    let count = fails(d, &["score", "s1"]);
    assert!(
        count.contains("no subject s1"),
        "line 1 was not kept: {count}"
    );
}

#[test]
fn a_csv_file_ending_inside_a_quote_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let header = "furnisher_id,event_id,subject_id,kind,occurred_at,subject_kind";
    std::fs::write(
        d.join("cut.csv"),
        format!("{header}\nop,e1,s1,subject_enrolled,2024-01-01,person\nop,e2,s2,subject_enrolled,2024-01-01,\"person\n"),
    )
    .expect("write");
    let refused = fails(d, &["import", "cut.csv"]);
    assert!(
        refused.contains("line 3: a quote opens a field that is never closed"),
        "{refused}"
    );
    assert!(
        fails(d, &["score", "s1"]).contains("no subject s1"),
        "nothing kept"
    );
    // Quotes closed, doubled inside, commas within: read as they should.
    std::fs::write(
        d.join("quoted.csv"),
        format!("{header}\n\"op\",\"e1\",s1,subject_enrolled,2024-01-01,\"person\"\r\n"),
    )
    .expect("write");
    let imported = ok(d, &["import", "quoted.csv"]);
    assert!(imported.contains("1 events imported"), "{imported}");
}

#[test]
fn a_bad_file_is_refused_whole_with_every_line_listed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let good = r#"{"furnisher_id":"op","event_id":"e1","subject_id":"s1","kind":"subject_enrolled","occurred_at":"2024-01-01","subject_kind":"person"}"#;
    let bad_amount = r#"{"furnisher_id":"bank","event_id":"e2","subject_id":"s1","kind":"bill_due","occurred_at":"2024-02-01","account_id":"a","bill_id":"b","amount":"lots","currency":"EUR"}"#;
    let future = r#"{"furnisher_id":"bank","event_id":"e3","subject_id":"s1","kind":"bill_due","occurred_at":"2999-02-01","account_id":"a","bill_id":"b","amount":1,"currency":"EUR"}"#;
    std::fs::write(
        d.join("bad.jsonl"),
        format!("{good}\n{bad_amount}\n{future}\n"),
    )
    .expect("write");
    let stderr = fails(d, &["import", "bad.jsonl"]);
    assert!(
        stderr.contains("bad.jsonl:line 2: field `amount`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bad.jsonl:line 3: field `occurred_at`"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    let count = fails(d, &["score", "s1"]);
    assert!(
        count.contains("no subject s1"),
        "the enrolment on line 1 was not kept: {count}"
    );

    ok(
        d,
        &[
            "import",
            "bad.jsonl",
            "--quarantine",
            "bad.quarantine.jsonl",
        ],
    );
    let quarantined = std::fs::read_to_string(d.join("bad.quarantine.jsonl")).expect("quarantine");
    assert_eq!(quarantined.lines().count(), 2);
    let thin: Value = serde_json::from_str(&ok(d, &["score", "s1", "--json"])).expect("JSON");
    assert_eq!(thin["status"], "not_enough_data");
}

/// `credence … | head` closes the pipe early: the reader had enough, so
/// that is no crash (no panic, no exit 101), and a failed import still
/// says it failed.
#[test]
fn a_closed_pipe_is_not_a_crash() {
    use std::process::Stdio;
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let junk: String = (0..5_000).map(|n| format!("{{bad {n}\n")).collect();
    std::fs::write(d.join("junk.jsonl"), junk).expect("write");
    ok(
        d,
        &["simulate", "--subjects", "30", "--out", "events.jsonl"],
    );
    let run_closed = |args: &[&str], stdout: bool| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_credence"))
            .args(args)
            .current_dir(d)
            .env_remove("CREDENCE_DB")
            .env_remove("CREDENCE_CONFIG")
            .stdout(if stdout {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(if stdout {
                Stdio::null()
            } else {
                Stdio::piped()
            })
            .spawn()
            .expect("spawns");
        // Read nothing and close our end, as `head -0` would.
        drop(child.stdout.take());
        drop(child.stderr.take());
        child.wait().expect("exits").code()
    };
    assert_eq!(run_closed(&["import", "junk.jsonl"], false), Some(1));
    assert_eq!(
        run_closed(&["import", "events.jsonl", "--json"], true),
        Some(0)
    );
    assert_eq!(run_closed(&["rescore", "--json"], true), Some(0));
}

#[test]
fn demo_runs_and_prints_a_scored_population() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = ok(dir.path(), &["demo", "--subjects", "400", "--no-serve"]);
    assert!(out.contains("Score bands"), "{out}");
    assert!(out.contains("Excellent") && out.contains("Poor"), "{out}");
    assert!(
        out.contains("Reasons:") || out.contains("Nothing holds this score down"),
        "{out}"
    );
    assert!(dir.path().join("credence-demo.db").exists());
}

#[test]
fn helpful_errors_for_the_database_and_models() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let missing = fails(d, &["rescore"]);
    assert!(missing.contains("no database at credence.db"), "{missing}");
    let postgres = fails(d, &["--db", "postgres://x", "rescore"]);
    assert!(postgres.contains("PostgreSQL"), "{postgres}");
    let shown = ok(d, &["model", "show", "person"]);
    assert!(
        shown.contains("person-default@2.0.0") && shown.contains("trained"),
        "{shown}"
    );
    std::fs::write(
        d.join("m.json"),
        credence_scorecard_json().replace("\"H02\"", "\"H99\""),
    )
    .expect("write");
    let tampered = fails(d, &["model", "verify", "m.json"]);
    assert!(tampered.contains("checksum mismatch"), "{tampered}");
    ok(d, &["model", "seal", "m.json"]);
    ok(d, &["model", "verify", "m.json"]);
}

fn credence_scorecard_json() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../credence-scorecard/models/person-default.json"),
    )
    .expect("default model file")
}

#[test]
fn train_refuses_protected_inputs_and_writes_a_verifiable_model() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/german_credit.csv");
    let data = data.to_str().expect("utf-8 path");
    let refused = fails(
        d,
        &[
            "train",
            "--data",
            data,
            "--target",
            "creditability",
            "--bad",
            "bad",
            "--out",
            "g.json",
        ],
    );
    assert!(
        refused.contains("age_in_years: protected attribute (age)"),
        "{refused}"
    );
    // The README's promise: occupation and a purchase's purpose are refused
    // as inputs, by name.
    assert!(refused.contains("job: category occupation"), "{refused}");
    assert!(
        refused.contains("purpose: category purchase_purpose"),
        "{refused}"
    );
    assert!(
        !d.join("g.json").exists(),
        "nothing is written when inputs are refused"
    );
    let out = ok(
        d,
        &[
            "train",
            "--data",
            data,
            "--target",
            "creditability",
            "--bad",
            "bad",
            "--out",
            "g.json",
            "--drop-column",
            "job",
            "--drop-column",
            "purpose",
            "--report",
            "r.json",
            "--audit-column",
            "personal_status_and_sex",
            "--audit-column",
            "age_in_years",
            "--audit-column",
            "foreign_worker",
            "--population",
            data,
        ],
    );
    assert!(out.contains("test") && out.contains("Gini"), "{out}");
    assert!(out.contains("later population"), "{out}");
    ok(d, &["model", "verify", "g.json"]);
    let model: Value = read_json(&d.join("g.json"));
    let inputs = model_inputs(&model);
    for protected in [
        "personal_status_and_sex",
        "age_in_years",
        "foreign_worker",
        "job",
        "purpose",
    ] {
        assert!(
            !inputs.contains(&protected),
            "{protected} must never be an input"
        );
    }
    let report: Value = read_json(&d.join("r.json"));
    assert!(
        report["test"]["gini"].as_f64().is_some_and(|g| g > 0.3),
        "{}",
        report["test"]
    );
    // The development sample against itself is perfectly stable, input
    // by input too.
    assert_eq!(report["population"]["rows"], 1000);
    assert!(
        report["population"]["psi"]
            .as_f64()
            .is_some_and(|p| p.abs() < 1e-9)
    );
    let shifts = report["population"]["inputs"].as_array().expect("inputs");
    assert_eq!(shifts.len(), inputs.len(), "one index per model input");
    assert!(
        shifts
            .iter()
            .all(|s| s["csi"].as_f64().is_some_and(|c| c.abs() < 1e-9))
    );
    // A later population of only the bad outcomes has shifted.
    let text = std::fs::read_to_string(data).expect("data");
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    let bads: Vec<&str> = lines.filter(|l| l.split(',').any(|c| c == "bad")).collect();
    let shifted = format!("{header}\n{}\n", bads.join("\n"));
    std::fs::write(d.join("later.csv"), shifted).expect("write");
    let model_args = [
        "train",
        "--data",
        data,
        "--target",
        "creditability",
        "--bad",
        "bad",
        "--out",
        "g2.json",
        "--drop-column",
        "job",
        "--drop-column",
        "purpose",
        "--report",
        "r2.json",
        "--population",
        "later.csv",
        "--quiet",
        "--audit-column",
        "personal_status_and_sex",
        "--audit-column",
        "age_in_years",
        "--audit-column",
        "foreign_worker",
    ];
    ok(d, &model_args);
    let report: Value = read_json(&d.join("r2.json"));
    assert_eq!(report["population"]["rows"], bads.len());
    assert!(
        report["population"]["psi"]
            .as_f64()
            .is_some_and(|p| p > 0.1),
        "{}",
        report["population"]
    );
    // The bads-only population moved most on the strongest input, and the
    // indices come least stable first.
    let shifts: Vec<f64> = report["population"]["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|s| s["csi"].as_f64().expect("csi"))
        .collect();
    assert!(shifts[0] > 0.1, "{shifts:?}");
    assert!(shifts.windows(2).all(|w| w[0] >= w[1]), "{shifts:?}");
    let html = std::fs::read_to_string(d.join("r2.html")).expect("html");
    assert!(html.contains("Later scoring population"));
    assert!(html.contains("characteristic stability index"));
    // The report says how the model was trained, defaults included.
    let settings = &report["settings"];
    assert_eq!(settings["prebinning"], "tree");
    assert_eq!(settings["min_bin_share"], 0.05);
    assert_eq!(settings["min_level_rows"], 30);
    assert_eq!(settings["trend"], "auto");
    assert_eq!(settings["lambda"], 1.0);
    assert!(
        html.contains("<h2>Settings</h2>"),
        "the HTML lists the settings"
    );
    assert!(html.contains("ranges at least 5% of rows"), "{html}");
}

/// `credence demo` serving on a free port, with what it printed.
struct DemoServer {
    child: std::process::Child,
    base: String,
    printed: String,
}

impl DemoServer {
    /// Starts the demo and reads its output until it says where it serves.
    fn start(dir: &Path, subjects: &str) -> Self {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_credence"))
            .args(["demo", "--subjects", subjects, "--listen", "127.0.0.1:0"])
            .current_dir(dir)
            .env_remove("CREDENCE_DB")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the demo starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut printed = String::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.expect("demo output");
            printed.push_str(&line);
            printed.push('\n');
            if line.starts_with("Try: curl") {
                break;
            }
        }
        let base = printed
            .lines()
            .find_map(|l| l.strip_prefix("Serving on "))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in:\n{printed}"))
            .to_string();
        Self {
            child,
            base,
            printed,
        }
    }

    /// The API key printed on the line that starts with `words` (`operator`,
    /// `furnisher`, `partner bike-share`).
    fn key(&self, words: &str) -> String {
        self.printed
            .lines()
            .find_map(|l| {
                let rest = l.trim().strip_prefix(words)?;
                let key = rest.split_whitespace().next()?;
                key.starts_with("crd_").then(|| key.to_string())
            })
            .unwrap_or_else(|| panic!("no {words} key in:\n{}", self.printed))
    }

    /// Sends SIGTERM and asserts the server exits cleanly.
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let exit = self.child.wait().expect("the demo exits");
        assert!(exit.success(), "graceful shutdown exits cleanly: {exit:?}");
    }
}

impl Drop for DemoServer {
    /// A test that fails before `stop` must not leave its server running.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn demo_serves_the_api_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = DemoServer::start(dir.path(), "300");
    let base = server.base.clone();
    let token = server
        .printed
        .split_whitespace()
        .find(|word| word.starts_with("st1."))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no subject token in:\n{}", server.printed));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut me = agent
        .get(&format!("{base}/v1/me"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .expect("GET /v1/me");
    assert_eq!(me.status().as_u16(), 200);
    let body: Value =
        serde_json::from_str(&me.body_mut().read_to_string().unwrap_or_default()).expect("JSON");
    assert!(
        body["report"]["note"]
            .as_str()
            .unwrap_or_default()
            .contains("Friends")
    );
    let operator = server.key("operator");
    server.stop();
    // The audit log written while serving is intact, and the key works
    // from the command line too.
    let db = dir.path().join("credence-demo.db");
    let db = db.to_str().expect("utf-8 path");
    let verdict = ok(dir.path(), &["audit", "verify", "--db", db]);
    assert!(verdict.contains("audit log intact"), "{verdict}");
    assert!(
        verdict.contains("checkpoints: 1 signed with the database's key checked"),
        "the server signed the heads when it started: {verdict}"
    );
    let keys = ok(dir.path(), &["keys", "list", "--db", db]);
    let operator_id = operator
        .trim_start_matches("crd_")
        .split('_')
        .next()
        .unwrap_or_default();
    assert!(keys.contains(operator_id), "{keys}");
    let revoked = ok(dir.path(), &["keys", "revoke", operator_id, "--db", db]);
    assert!(revoked.contains("revoked"));
    assert!(ok(dir.path(), &["keys", "list", "--db", db]).contains("revoked"));
    let created = ok(
        dir.path(),
        &[
            "keys", "create", "--role", "operator", "--label", "ops", "--db", db,
        ],
    );
    assert!(created.starts_with("crd_"));
    let refused = fails(
        dir.path(),
        &[
            "keys",
            "create",
            "--role",
            "partner",
            "--principal",
            "nobody",
            "--db",
            db,
        ],
    );
    assert!(refused.contains("register it first"), "{refused}");
}

#[test]
fn one_server_per_database_and_the_demo_never_deletes_a_served_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = DemoServer::start(dir.path(), "100");
    let db = dir.path().join("credence-demo.db");
    let db_arg = db.to_str().expect("utf-8 path");
    let second = fails(
        dir.path(),
        &["serve", "--db", db_arg, "--listen", "127.0.0.1:0"],
    );
    assert!(second.contains("one server per database"), "{second}");
    // Another spelling of the same file is the same database.
    #[cfg(unix)]
    {
        let link = dir.path().join("another-name.db");
        std::os::unix::fs::symlink(&db, &link).expect("symlink");
        let link_arg = link.to_str().expect("utf-8 path");
        let through_link = fails(
            dir.path(),
            &["serve", "--db", link_arg, "--listen", "127.0.0.1:0"],
        );
        assert!(
            through_link.contains("one server per database"),
            "{through_link}"
        );
        let relative = fails(
            dir.path(),
            &[
                "serve",
                "--db",
                "./credence-demo.db",
                "--listen",
                "127.0.0.1:0",
            ],
        );
        assert!(relative.contains("one server per database"), "{relative}");
    }
    let again = fails(dir.path(), &["demo", "--subjects", "50", "--no-serve"]);
    assert!(again.contains("is serving"), "{again}");
    let moving = fails(
        dir.path(),
        &["migrate", "--from", db_arg, "--to", "sqlite:moved.db"],
    );
    assert!(moving.contains("a server is running on --from"), "{moving}");
    let health = ureq::get(&format!("{}/v1/me", server.base))
        .header(
            "Authorization",
            &format!(
                "Bearer {}",
                server
                    .printed
                    .split_whitespace()
                    .find(|w| w.starts_with("st1."))
                    .unwrap_or_default()
            ),
        )
        .call()
        .map(|r| r.status().as_u16());
    assert_eq!(health.ok(), Some(200), "the served database is untouched");
    server.stop();
    // Once the server is gone, the database can be served again.
    let served_again = Command::new(env!("CARGO_BIN_EXE_credence"))
        .args(["serve", "--db", db_arg, "--listen", "127.0.0.1:0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("serve starts");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let mut served_again = served_again;
    assert!(
        served_again.try_wait().expect("status").is_none(),
        "a second server after the first stopped keeps running"
    );
    let _ = served_again.kill();
    let _ = served_again.wait();
}

#[test]
fn keys_changed_from_the_command_line_reach_a_running_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = DemoServer::start(dir.path(), "200");
    let base = server.base.clone();
    let db = dir.path().join("credence-demo.db");
    let db = db.to_str().expect("utf-8 path");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let list_keys = |key: &str| -> u16 {
        agent
            .get(&format!("{base}/v1/operator/keys"))
            .header("Authorization", &format!("Bearer {key}"))
            .call()
            .map_or(0, |r| r.status().as_u16())
    };
    let register = |key: &str, id: &str| -> u16 {
        agent
            .post(&format!("{base}/v1/operator/partners"))
            .header("Authorization", &format!("Bearer {key}"))
            .header("Content-Type", "application/json")
            .send(format!(r#"{{"id":"{id}","name":"{id}"}}"#))
            .map_or(0, |r| r.status().as_u16())
    };
    // Both commands write an audit entry while the server holds its own
    // view of the log's head; both must keep one chain.
    let created = ok(
        dir.path(),
        &[
            "keys", "create", "--role", "operator", "--label", "ops", "--db", db,
        ],
    );
    let key = created
        .split_whitespace()
        .find(|w| w.starts_with("crd_"))
        .unwrap_or_else(|| panic!("no key in {created}"))
        .to_string();
    assert_eq!(
        list_keys(&key),
        200,
        "a key created beside the server works at once"
    );
    assert_eq!(
        register(&key, "after-create"),
        200,
        "audited writes still work"
    );
    let key_id = key
        .trim_start_matches("crd_")
        .split('_')
        .next()
        .unwrap_or_default()
        .to_string();
    ok(dir.path(), &["keys", "revoke", &key_id, "--db", db]);
    // The server looks for other writers every quarter second.
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert_eq!(
        list_keys(&key),
        401,
        "a key revoked beside the server is refused"
    );
    let operator = server.key("operator");
    assert_eq!(
        register(&operator, "after-revoke"),
        200,
        "audited writes still work"
    );
    server.stop();
    let verdict = ok(dir.path(), &["audit", "verify", "--db", db]);
    assert!(verdict.contains("audit log intact"), "{verdict}");
}

#[test]
fn the_api_load_benchmark_runs_every_phase_without_failures() {
    // A smoke run: the numbers mean nothing at this size, only that every
    // phase runs, answers and reports (speed lives in `credence bench-api`).
    let dir = tempfile::tempdir().expect("temp dir");
    let out = ok(
        dir.path(),
        &[
            "bench-api",
            "--subjects",
            "200",
            "--seconds",
            "0.3",
            "--connections",
            "4",
            "--batch",
            "40",
            "--json",
        ],
    );
    let phases: Value = serde_json::from_str(&out).expect("JSON");
    let phases = phases.as_array().expect("a list of phases");
    assert_eq!(phases.len(), 3, "{out}");
    for phase in phases {
        assert_eq!(phase["failed"], 0, "{phase}");
        assert!(phase["requests"].as_u64().unwrap_or(0) > 0, "{phase}");
    }
    assert_eq!(phases[0]["ratio_to_healthz"], 1.0);
    assert_eq!(phases[1]["unit"], "checks");
}

#[test]
fn audit_verify_fails_on_a_tampered_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let db = d.join("a.db");
    let db = db.to_str().expect("utf-8 path");
    for label in ["one", "two", "three"] {
        ok(
            d,
            &[
                "keys", "create", "--role", "operator", "--label", label, "--db", db,
            ],
        );
    }
    let intact = ok(d, &["audit", "verify", "--db", db]);
    assert!(intact.contains("3 entries"), "{intact}");
    let head = intact
        .lines()
        .next()
        .and_then(|line| line.split("head ").nth(1))
        .unwrap_or_default()
        .trim()
        .to_string();
    ok(d, &["audit", "verify", "--db", db, "--expect-head", &head]);
    let cut = fails(d, &["audit", "verify", "--db", db, "--expect-head", "abc"]);
    assert!(cut.contains("cut off"), "{cut}");
    let connection = rusqlite::Connection::open(db).expect("open");
    connection
        .execute("UPDATE audit SET actor = 'nobody' WHERE seq = 2", [])
        .expect("tamper");
    let broken = fails(d, &["audit", "verify", "--db", db]);
    assert!(
        broken.contains("NOT intact") && broken.contains("entry 2"),
        "{broken}"
    );
}

#[test]
fn audit_checkpoints_are_signed_and_checked_with_the_key_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let db = d.join("a.db");
    let db = db.to_str().expect("utf-8 path");
    let key = d.join("audit.key");
    std::fs::write(&key, format!("{}\n", "5a".repeat(32))).expect("key file");
    let key = key.to_str().expect("utf-8 path");
    ok(d, &["keys", "create", "--role", "operator", "--db", db]);
    let written = ok(
        d,
        &["audit", "checkpoint", "--db", db, "--audit-key-file", key],
    );
    assert!(
        written.contains("checkpoint written: entry 2 of chain 0"),
        "{written}"
    );
    let again = ok(
        d,
        &["audit", "checkpoint", "--db", db, "--audit-key-file", key],
    );
    assert!(again.contains("none written"), "{again}");
    let checked = ok(d, &["audit", "verify", "--db", db, "--audit-key-file", key]);
    assert!(
        checked.contains("checkpoints: 1 signed with the given key checked")
            && checked.contains("0 entries written since"),
        "{checked}"
    );
    let output = credence(d, &["audit", "verify", "--db", db]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let open = credence(d, &["audit", "verify", "--db", db, "--audit-key-file", key]);
        let warned = String::from_utf8_lossy(&open.stderr);
        assert!(
            warned.contains("can be read by other users (mode 644)"),
            "{warned}"
        );
        std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let private = credence(d, &["audit", "verify", "--db", db, "--audit-key-file", key]);
        assert!(!String::from_utf8_lossy(&private.stderr).contains("warning"));
    }
    assert!(
        stdout.contains("none signed with the database's key")
            && stdout.contains("1 signed with another key, not checked")
            && stderr.contains("--audit-key-file"),
        "the database's key cannot vouch for it, and the check says to give the key:\n{stdout}\n{stderr}"
    );
    // A checkpoint rewritten to hide a chain: the log no longer verifies.
    let connection = rusqlite::Connection::open(db).expect("open");
    connection
        .execute(
            "UPDATE audit SET detail = replace(detail, '\"seq\":1', '\"seq\":0') WHERE action = 'audit.checkpoint'",
            [],
        )
        .expect("tamper");
    let broken = fails(d, &["audit", "verify", "--db", db, "--audit-key-file", key]);
    assert!(broken.contains("NOT intact"), "{broken}");
    std::fs::write(d.join("short.key"), "abc").expect("key file");
    let short = fails(
        d,
        &[
            "audit",
            "verify",
            "--db",
            db,
            "--audit-key-file",
            "short.key",
        ],
    );
    assert!(
        short.contains("short.key") && short.contains("openssl rand -hex 32"),
        "{short}"
    );
    let missing = fails(
        d,
        &[
            "audit",
            "checkpoint",
            "--db",
            db,
            "--audit-key-file",
            "none.key",
        ],
    );
    assert!(
        missing.contains("cannot read the audit key file none.key"),
        "{missing}"
    );
}

#[test]
fn sigterm_during_ingest_loses_no_acknowledged_batch() {
    use credence_store::prelude::*;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = DemoServer::start(dir.path(), "200");
    let base = server.base.clone();
    let furnisher_key = server.key("furnisher bank-a");
    let sender = std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut acknowledged = Vec::new();
        for batch in 0..10_000 {
            let events: Vec<Value> = (0..20)
                .map(|i| {
                    serde_json::json!({"event_id": format!("term-{batch}-{i}"), "subject_id": "sub-00000000",
                        "kind": "balance_reported", "occurred_at": "2026-01-01", "account_id": "term-acct",
                        "balance": 100 + i, "currency": "EUR"})
                })
                .collect();
            let reply = agent
                .post(&format!("{base}/v1/events"))
                .header("Authorization", &format!("Bearer {furnisher_key}"))
                .send_json(&events);
            match reply {
                Ok(r) if r.status().as_u16() == 200 => acknowledged.push(batch),
                Ok(r) => panic!("batch {batch} refused with {}", r.status()),
                Err(_) => break, // the server has gone: nothing more is acknowledged
            }
        }
        acknowledged
    });
    std::thread::sleep(std::time::Duration::from_millis(400));
    server.stop();
    let acknowledged = sender.join().expect("sender");
    assert!(
        !acknowledged.is_empty(),
        "some batches were acknowledged before the stop"
    );
    let store = credence_store_sqlite::SqliteStore::open(&dir.path().join("credence-demo.db"))
        .expect("the database opens");
    let stored: std::collections::HashSet<String> = store
        .subject_events(&credence_domain::SubjectId::new("sub-00000000").expect("id"))
        .expect("events")
        .into_iter()
        .map(|e| e.key.event_id.to_string())
        .collect();
    for batch in &acknowledged {
        for i in 0..20 {
            assert!(
                stored.contains(&format!("term-{batch}-{i}")),
                "acknowledged batch {batch} lost event {i}"
            );
        }
    }
}

/// A JSON file written by a command.
fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The input columns of a model file, in model order.
fn model_inputs(model: &Value) -> Vec<&str> {
    model["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect()
}

/// A seeded stream of uniform numbers in [0, 1) (a 64-bit LCG's top 53
/// bits): test tables the same on every run.
fn uniform(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Writes a Parquet training table: risk rises with `utilisation` (float),
/// falls with `months_on_book` (integer), differs by `channel` (dictionary
/// text, as pandas writes categoricals), and `noise`, a coin flip, carries
/// nothing. (A coin flip, not a continuous noise column: optimal bins of
/// continuous noise are fitted to the target, which makes any test on
/// them optimistic.)
fn write_parquet_table(path: &Path, rows: usize) {
    use arrow_array::{
        ArrayRef, DictionaryArray, Float64Array, Int64Array, RecordBatch, types::Int32Type,
    };
    let mut next = uniform(5);
    let channels = ["branch", "online", "partner"];
    let (mut utilisation, mut months, mut channel, mut noise, mut bad) =
        (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..rows {
        let u = next();
        let m = (next() * 120.0) as i64;
        let c = (next() * 3.0) as usize;
        let logit = -1.5 + 2.5 * u - 0.015 * m as f64 + [0.0, 0.6, -0.4][c];
        utilisation.push((next() > 0.05).then_some(u));
        months.push(m);
        channel.push(channels[c]);
        noise.push(f64::from(u8::from(next() < 0.5)));
        bad.push(i64::from(next() < 1.0 / (1.0 + (-logit).exp())));
    }
    let channel: DictionaryArray<Int32Type> = channel.into_iter().collect();
    let batch = RecordBatch::try_from_iter([
        (
            "utilisation",
            std::sync::Arc::new(Float64Array::from(utilisation)) as ArrayRef,
        ),
        (
            "months_on_book",
            std::sync::Arc::new(Int64Array::from(months)),
        ),
        ("channel", std::sync::Arc::new(channel)),
        ("noise", std::sync::Arc::new(Float64Array::from(noise))),
        ("bad", std::sync::Arc::new(Int64Array::from(bad))),
    ])
    .expect("batch");
    let file = std::fs::File::create(path).expect("create");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

#[test]
fn trains_on_parquet_with_stepwise_selection_and_reports_its_timings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write_parquet_table(&d.join("train.parquet"), 8_000);
    let out = ok(
        d,
        &[
            "train",
            "--data",
            "train.parquet",
            "--target",
            "bad",
            "--out",
            "p.json",
            "--report",
            "p.json.report",
            "--stepwise",
            "--entry-p",
            "0.01",
            "--stay-p",
            "0.01",
        ],
    );
    assert!(out.contains("Gini"), "{out}");
    let model: Value = read_json(&d.join("p.json"));
    let inputs = model_inputs(&model);
    assert_eq!(inputs[..3], ["utilisation", "months_on_book", "channel"]);
    assert!(
        model["origin"]["note"]
            .as_str()
            .is_some_and(|n| n.contains("stepwise selection (entry p < 0.01")),
        "{}",
        model["origin"]["note"]
    );
    let report: Value = read_json(&d.join("p.json.json"));
    // Every input is reported with its status: in the model, or why not.
    for input in report["inputs"].as_array().expect("inputs") {
        let status = input["status"].as_str().unwrap_or_default();
        assert!(
            status == "in the model" || status.starts_with("dropped"),
            "{input}"
        );
    }
    for phase in [
        "read_seconds",
        "binning_seconds",
        "fit_seconds",
        "validation_seconds",
    ] {
        assert!(
            report["timings"][phase].as_f64().is_some_and(|s| s >= 0.0),
            "{phase}: {}",
            report["timings"]
        );
    }
    // Scoring files is CSV in, CSV out: a Parquet input is refused by name.
    let refused = fails(
        d,
        &[
            "score",
            "--model",
            "p.json",
            "--data",
            "train.parquet",
            "--out",
            "s.csv",
        ],
    );
    assert!(
        refused.contains("train.parquet") && refused.contains("convert it to CSV"),
        "{refused}"
    );
    assert!(!d.join("s.csv").exists());
    // Stepwise levels must be probabilities.
    let refused = fails(
        d,
        &[
            "train",
            "--data",
            "train.parquet",
            "--target",
            "bad",
            "--out",
            "q.json",
            "--stepwise",
            "--entry-p",
            "1.5",
        ],
    );
    assert!(refused.contains("--entry-p 1.5"), "{refused}");
    for (flag, value, says) in [
        (
            "--min-bin-share",
            "2",
            "--min-bin-share 2 must be a share above 0",
        ),
        (
            "--lambda",
            "NaN",
            "--lambda NaN must be a penalty of 0 or more",
        ),
        (
            "--lambda",
            "-1",
            "--lambda -1 must be a penalty of 0 or more",
        ),
        ("--max-correlation", "1.5", "--max-correlation 1.5 must be"),
        ("--min-iv", "-3", "--min-iv -3 must be"),
        (
            "--cutoff",
            "2000",
            "--cutoff 2000 must be a score on the 350-950 scale",
        ),
    ] {
        let setting = format!("{flag}={value}");
        let refused = fails(
            d,
            &[
                "train",
                "--data",
                "train.parquet",
                "--target",
                "bad",
                "--out",
                "x.json",
                &setting,
            ],
        );
        assert!(refused.contains(says), "{setting}: {refused}");
    }
    assert!(!d.join("x.json").exists(), "nothing written");
}

#[test]
fn a_rare_but_telling_flag_keeps_its_own_bin_and_moves_the_score() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    // A public record on 2.5% of files, under the 5% minimum bin share,
    // that multiplies the odds of default by about eight.
    let mut next = uniform(5);
    let mut csv = String::from("public_record,amount,bad\n");
    for _ in 0..6_000 {
        let flagged = next() < 0.025;
        let amount = (next() * 1000.0).round();
        let logit = -2.0 + if flagged { 2.1 } else { 0.0 } + amount / 1500.0;
        let bad = u8::from(next() < 1.0 / (1.0 + f64::exp(-logit)));
        let flag = if flagged { "yes" } else { "no" };
        csv.push_str(&format!("{flag},{amount},{bad}\n"));
    }
    std::fs::write(d.join("flags.csv"), csv).expect("data");
    ok(
        d,
        &[
            "train",
            "--data",
            "flags.csv",
            "--target",
            "bad",
            "--out",
            "flags.json",
        ],
    );
    let model: Value = read_json(&d.join("flags.json"));
    let flag = model["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| f["name"] == "public_record")
        .unwrap_or_else(|| panic!("the flag is in the model: {model}"));
    let groups: Vec<Vec<&str>> = flag["bins"]
        .as_array()
        .expect("bins")
        .iter()
        .filter(|b| b["when"] == "categories")
        .map(|b| {
            b["values"]
                .as_array()
                .expect("values")
                .iter()
                .filter_map(Value::as_str)
                .collect()
        })
        .collect();
    assert!(groups.contains(&vec!["yes"]), "{flag}");
    std::fs::write(d.join("two.csv"), "public_record,amount\nno,500\nyes,500\n").expect("two rows");
    let scores = scores_of_file(d, "flags.json", "two.csv");
    assert!(
        scores[1] + 40 < scores[0],
        "a public record lowers the score by more than one doubling of the odds: {scores:?}"
    );
}

#[test]
fn special_values_declared_in_the_dictionary_score_by_bins_of_their_own() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    // Months since the last late payment: risk falls with time; -1 means
    // "never late" (safest), 999 "no credit file" (risky). Read as numbers,
    // 999 would land in the safest range.
    let mut next = uniform(17);
    let mut csv = String::from("months_since_late,bad\n");
    for _ in 0..6_000 {
        let draw = next();
        let (months, logit) = if draw < 0.3 {
            (-1.0, -3.0)
        } else if draw < 0.4 {
            (999.0, 0.5)
        } else {
            let months = (next() * 60.0).floor();
            (months, -0.5 - months / 30.0)
        };
        let bad = u8::from(next() < 1.0 / (1.0 + f64::exp(-logit)));
        csv.push_str(&format!("{months},{bad}\n"));
    }
    std::fs::write(d.join("late.csv"), csv).expect("data");
    std::fs::write(
        d.join("dictionary.toml"),
        "[columns.months_since_late]\ncategory = \"payment\"\nspecial = [-1, 999]\n",
    )
    .expect("dictionary");
    ok(
        d,
        &[
            "train",
            "--data",
            "late.csv",
            "--target",
            "bad",
            "--out",
            "late.json",
            "--dictionary",
            "dictionary.toml",
            "--report",
            "late-report.html",
        ],
    );
    let model: Value = read_json(&d.join("late.json"));
    let specials: Vec<&Value> = model["features"][0]["bins"]
        .as_array()
        .unwrap_or_else(|| panic!("a model with bins: {model}"))
        .iter()
        .filter(|b| b["when"] == "special")
        .collect();
    assert_eq!(specials.len(), 2, "{model}");
    assert_eq!(specials[0]["values"], serde_json::json!([-1.0]));
    assert_eq!(specials[1]["values"], serde_json::json!([999.0]));
    let html = std::fs::read_to_string(d.join("late-report.html")).expect("report");
    assert!(html.contains("= 999"), "the report lists the special bin");

    std::fs::write(
        d.join("rows.csv"),
        "months_since_late\n-1\n59\n999\n999.0\n",
    )
    .expect("rows");
    let scores = scores_of_file(d, "late.json", "rows.csv");
    let [never, long_ago, no_file, no_file_again] = scores[..] else {
        panic!("four scores: {scores:?}");
    };
    assert!(never > long_ago, "never late scores best: {scores:?}");
    assert!(no_file < long_ago, "999 is not a long time: {scores:?}");
    assert_eq!(no_file, no_file_again, "999 however written");

    // A report named after the model would have replaced it: refused
    // before anything is written.
    let model_before = std::fs::read(d.join("late.json")).expect("model");
    let refused = fails(
        d,
        &[
            "train",
            "--data",
            "late.csv",
            "--target",
            "bad",
            "--out",
            "late.json",
            "--report",
            "late.html",
        ],
    );
    assert!(
        refused.contains("--report late.html writes late.json, which is the model (--out)"),
        "{refused}"
    );
    assert_eq!(
        std::fs::read(d.join("late.json")).expect("model"),
        model_before
    );
    // Nor may scores or an export land on the model or the data.
    for (args, says) in [
        (
            vec![
                "score",
                "--model",
                "late.json",
                "--data",
                "rows.csv",
                "--out",
                "./late.json",
            ],
            "--out ./late.json is the model (--model)",
        ),
        (
            vec![
                "score",
                "--model",
                "late.json",
                "--data",
                "rows.csv",
                "--out",
                "rows.csv",
            ],
            "--out rows.csv is the data (--data)",
        ),
        (
            vec![
                "export-model",
                "--model",
                "late.json",
                "--format",
                "sql",
                "--out",
                "late.json",
            ],
            "--out late.json is the model (--model)",
        ),
    ] {
        let refused = fails(d, &args);
        assert!(refused.contains(says), "{args:?}: {refused}");
    }
    assert_eq!(
        std::fs::read(d.join("late.json")).expect("model"),
        model_before
    );
    assert!(
        std::fs::read_to_string(d.join("rows.csv"))
            .expect("data")
            .starts_with("months_since_late\n-1\n")
    );
}

#[test]
fn numeric_codes_declared_categorical_are_binned_as_categories_and_scored_however_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    // `region` is a code: its risk goes up and down with the number, which
    // no monotone range binning can follow.
    let mut next = uniform(11);
    let mut csv = String::from("region,amount,bad\n");
    for _ in 0..6_000 {
        let region = 1 + (next() * 5.0) as usize;
        let amount = (next() * 1000.0).round();
        let logit = -1.2 + [0.0, -0.9, 0.8, -0.9, 0.8, -0.9][region] + amount / 2000.0;
        let bad = u8::from(next() < 1.0 / (1.0 + f64::exp(-logit)));
        csv.push_str(&format!("{region},{amount},{bad}\n"));
    }
    std::fs::write(d.join("codes.csv"), csv).expect("data");
    std::fs::write(
        d.join("dictionary.toml"),
        "[columns.region]\ncategory = \"application\"\nkind = \"categorical\"\n\n[columns.amount]\ncategory = \"application\"\nkind = \"numeric\"\n",
    )
    .expect("dictionary");
    let train = |out: &str, dictionary: bool| {
        let mut args = vec![
            "train",
            "--data",
            "codes.csv",
            "--target",
            "bad",
            "--out",
            out,
            "--json",
        ];
        if dictionary {
            args.extend(["--dictionary", "dictionary.toml"]);
        }
        let printed: Value = serde_json::from_str(&ok(d, &args)).expect("JSON");
        printed["test"]["gini"].as_f64().expect("test Gini")
    };
    let as_numbers = train("numbers.json", false);
    let as_codes = train("codes.json", true);
    assert!(
        as_codes > as_numbers + 0.05,
        "declared categorical: Gini {as_codes:.3}, read as numbers: {as_numbers:.3}"
    );
    let model: Value = read_json(&d.join("codes.json"));
    let region = &model["features"][0];
    assert_eq!(region["name"], "region");
    let listed: Vec<&str> = region["bins"]
        .as_array()
        .expect("bins")
        .iter()
        .filter(|b| b["when"] == "categories")
        .flat_map(|b| b["values"].as_array().expect("values"))
        .filter_map(Value::as_str)
        .collect();
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["1", "2", "3", "4", "5"], "{region}");

    // The same codes written differently score the same.
    std::fs::write(d.join("plain.csv"), "region,amount\n1,100\n2,100\n5,700\n").expect("plain");
    std::fs::write(
        d.join("spelled.csv"),
        "region,amount\n01,100\n2.0,100\n5.00,700\n",
    )
    .expect("spelled");
    let scores = |file: &str| scores_of_file(d, "codes.json", file);
    let plain = scores("plain.csv");
    assert_eq!(plain.len(), 3);
    assert_ne!(plain[0], plain[1], "regions 1 and 2 differ in risk");
    assert_eq!(scores("spelled.csv"), plain);

    // A column declared numeric that holds text is refused, naming both.
    std::fs::write(
        d.join("typo.csv"),
        "region,amount,bad\n1,100,0\n2,about 90,1\n3,50,0\n",
    )
    .expect("typo");
    let refused = fails(
        d,
        &[
            "train",
            "--data",
            "typo.csv",
            "--target",
            "bad",
            "--out",
            "typo.json",
            "--dictionary",
            "dictionary.toml",
        ],
    );
    assert!(
        refused.contains("\"amount\" is declared numeric but holds \"about 90\""),
        "{refused}"
    );
    assert!(!d.join("typo.json").exists());
}

/// A new, empty schema of the test PostgreSQL database
/// (`CREDENCE_TEST_POSTGRES`, set by `scripts/test`), as a `--db` address;
/// `None` when no database is configured (and that is allowed).
fn postgres_schema(name: &str) -> Option<String> {
    let url = match std::env::var("CREDENCE_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(
                std::env::var("CREDENCE_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "CREDENCE_REQUIRE_POSTGRES=1 but CREDENCE_TEST_POSTGRES names no database"
            );
            eprintln!("skipped: CREDENCE_TEST_POSTGRES is not set (scripts/test sets it)");
            return None;
        }
    };
    let schema = format!("cli_{name}_{}", std::process::id());
    let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connects");
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .expect("creates the schema");
    let joiner = if url.contains('?') { '&' } else { '?' };
    Some(format!("{url}{joiner}options=-c%20search_path%3D{schema}"))
}

#[test]
fn a_served_deployment_moves_up_to_postgresql_and_verifies() {
    let Some(postgres) = postgres_schema("migrate") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    // A deployment that has served: keys, partners, consents, perks,
    // answers, audit chains and a checkpoint.
    let server = DemoServer::start(d, "300");
    let operator = server.key("operator");
    let token = server
        .printed
        .split_whitespace()
        .find(|word| word.starts_with("st1."))
        .map(str::to_string)
        .expect("a subject token");
    let me = ureq::get(&format!("{}/v1/me", server.base))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .map(|r| r.status().as_u16());
    assert_eq!(me.ok(), Some(200));
    server.stop();
    let db = d.join("credence-demo.db");
    let db = db.to_str().expect("utf-8 path");
    let moved = ok(d, &["migrate", "--from", db, "--to", &postgres]);
    assert!(
        moved.contains("moved and verified: 300 subjects"),
        "{moved}"
    );
    // The moved deployment is the same deployment: the same audit log, the
    // same scores, and the operator's key and the subject's token (signed
    // with the moved secrets) still work.
    let head = |db: &str| {
        let verdict = ok(d, &["audit", "verify", "--db", db]);
        assert!(verdict.contains("audit log intact"), "{verdict}");
        assert!(verdict.contains("checkpoints: 1 signed"), "{verdict}");
        verdict.lines().next().unwrap_or_default().to_string()
    };
    assert_eq!(head(db), head(&postgres));
    let score = |db: &str| {
        ok(
            d,
            &[
                "score",
                "sub-00000007",
                "--db",
                db,
                "--as-of",
                "2026-06-01",
                "--json",
            ],
        )
    };
    assert_eq!(score(db), score(&postgres));
    assert_eq!(
        ok(d, &["keys", "list", "--db", db]),
        ok(d, &["keys", "list", "--db", &postgres])
    );
    let node = Command::new(env!("CARGO_BIN_EXE_credence"))
        .args(["serve", "--db", &postgres, "--listen", "127.0.0.1:0"])
        .current_dir(d)
        .env_remove("CREDENCE_DB")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("serve starts");
    let mut node = KillOnDrop(node);
    let mut announced = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(node.0.stderr.take().expect("stderr")),
        &mut announced,
    )
    .expect("the node announces itself");
    let base = announced
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("an address")
        .to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let status = |path: &str, credential: &str| {
        agent
            .get(&format!("{base}{path}"))
            .header("Authorization", &format!("Bearer {credential}"))
            .call()
            .map(|r| r.status().as_u16())
            .ok()
    };
    assert_eq!(status("/v1/operator/keys", &operator), Some(200));
    assert_eq!(status("/v1/me", &token), Some(200));
    drop(node);
    // Into a database that holds anything: refused, nothing written.
    let again = fails(d, &["migrate", "--from", db, "--to", &postgres]);
    assert!(again.contains("already holds"), "{again}");
    let same = fails(d, &["migrate", "--from", db, "--to", db]);
    assert!(same.contains("the same database"), "{same}");
    // And down again, into a new file.
    let down = ok(
        d,
        &["migrate", "--from", &postgres, "--to", "sqlite:down.db"],
    );
    assert!(down.contains("moved and verified: 300 subjects"), "{down}");
}

/// Kills a child process when dropped.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn one_world_scores_bit_identically_on_sqlite_and_postgres() {
    use credence_store::prelude::*;
    let Some(postgres) = postgres_schema("identical") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let as_of = "2026-06-01";
    ok(
        d,
        &[
            "simulate",
            "--subjects",
            "400",
            "--seed",
            "11",
            "--until",
            as_of,
            "--out",
            "world.jsonl",
        ],
    );
    for db in ["sqlite:world.db", postgres.as_str()] {
        ok(d, &["import", "world.jsonl", "--db", db]);
        ok(d, &["rescore", "--db", db, "--as-of", as_of]);
    }
    let sqlite = credence_store_sqlite::SqliteStore::open(&d.join("world.db")).expect("opens");
    let server = credence_store_postgres::PostgresStore::open(&postgres).expect("opens");
    assert_eq!(
        sqlite.counts().expect("counts"),
        server.counts().expect("counts")
    );
    let (mut page, mut cursor, mut compared) = (Vec::new(), None, 0);
    loop {
        cursor = sqlite
            .scan_subjects(credence_store::HashRange::ALL, cursor, 100, &mut page)
            .expect("scans");
        for record in &page {
            let id = &record.subject.id;
            assert_eq!(
                server.subject(id).expect("reads"),
                Some(record.subject.clone())
            );
            // The same events (stamped when each import ran, perhaps a
            // second apart, so compared as facts).
            let stored = server.subject_events(id).expect("reads");
            assert_eq!(stored.len(), record.events.len(), "{id}");
            assert!(
                stored
                    .iter()
                    .zip(&record.events)
                    .all(|(a, b)| a.key == b.key && a.same_fact(b)),
                "{id}: the same events in the same order"
            );
            let (a, b) = (
                sqlite.latest_score(id).expect("reads").expect("scored"),
                server.latest_score(id).expect("reads").expect("scored"),
            );
            assert_eq!(
                (a.score, a.dimensions, &a.reasons),
                (b.score, b.dimensions, &b.reasons),
                "{id}"
            );
            assert_eq!(
                a.pd.map(f64::to_bits),
                b.pd.map(f64::to_bits),
                "{id}: the same bits"
            );
            assert_eq!(
                (a.model_version, a.as_of, a.scored),
                (b.model_version, b.as_of, b.scored)
            );
            compared += 1;
        }
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(compared, 400, "every subject compared");
    // The full report (band, dimensions, reasons in words) too, for a few.
    for subject in ["sub-00000001", "sub-00000123", "sub-00000399"] {
        let args = |db: &str| {
            ["score", subject, "--db", db, "--as-of", as_of, "--json"].map(str::to_string)
        };
        let on = |db: &str| ok(d, &args(db).iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(on("sqlite:world.db"), on(&postgres), "{subject}");
    }
    // Three workers at once, each on its part of the hash range, score
    // every subject exactly once.
    let later = "2026-07-01";
    let workers: Vec<_> = ["1/3", "2/3", "3/3"]
        .iter()
        .map(|part| {
            Command::new(env!("CARGO_BIN_EXE_credence"))
                .args([
                    "rescore", "--db", &postgres, "--as-of", later, "--part", part, "--json",
                ])
                .current_dir(d)
                .env_remove("CREDENCE_DB")
                .output()
        })
        .collect();
    let mut shares = Vec::new();
    for worker in workers {
        let output = worker.expect("the binary runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let share: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        shares.push(share["subjects"].as_u64().expect("count"));
    }
    assert_eq!(shares.iter().sum::<u64>(), 400, "{shares:?}");
    let later = jiff::Timestamp::from_second(1_782_864_000).expect("2026-07-01");
    let (mut cursor, mut once) = (None, 0);
    loop {
        cursor = server
            .scan_subjects(credence_store::HashRange::ALL, cursor, 100, &mut page)
            .expect("scans");
        for record in &page {
            let history = server.score_history(&record.subject.id).expect("reads");
            assert_eq!(
                history.iter().filter(|s| s.as_of == later).count(),
                1,
                "{}: scored once as of {later}",
                record.subject.id
            );
            once += 1;
        }
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(once, 400);
    // And the audit log verifies on both.
    for db in ["sqlite:world.db", postgres.as_str()] {
        assert!(ok(d, &["audit", "verify", "--db", db]).contains("intact"));
    }
}

#[test]
fn a_database_password_is_never_printed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secret = "postgres://ann:hunter2@127.0.0.1:9/credence?connect_timeout=1";
    for args in [
        &["--help"][..],
        &["rescore", "--help"][..],
        &["audit", "verify"][..],
        &["rescore", "--db", "mysql://ann:hunter2@h/db"][..],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_credence"))
            .args(args)
            .current_dir(dir.path())
            .env("CREDENCE_DB", secret)
            .output()
            .expect("the binary runs");
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            !printed.contains("hunter2"),
            "{args:?} printed the password: {printed}"
        );
    }
}
