//! What the tests that run real `credence serve` processes share: a node
//! that says where it serves, plain HTTP calls that never panic on an
//! answer, and a loan history to score.

use serde_json::{Value, json};
use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

/// Longest a request may take, outage included: the store's wait for a
/// connection (5 s) plus queueing behind other requests waiting for theirs.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Node {
    pub child: std::process::Child,
    pub base: String,
}

impl Node {
    /// A `credence serve` process over `db`, not yet waited for.
    pub fn spawn(dir: &Path, db: &str) -> std::process::Child {
        std::process::Command::new(env!("CARGO_BIN_EXE_credence"))
            .args(["serve", "--db", db, "--listen", "127.0.0.1:0"])
            .current_dir(dir)
            .env_remove("CREDENCE_DB")
            .env_remove("CREDENCE_CONFIG")
            .env_remove("CREDENCE_AUDIT_KEY_FILE")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("a node starts")
    }

    /// A node serving `db`, once it says where.
    pub fn start(dir: &Path, db: &str) -> Self {
        let mut child = Self::spawn(dir, db);
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = std::io::BufReader::new(stderr).lines();
        let mut printed = String::new();
        let base = loop {
            let Some(Ok(line)) = lines.next() else {
                panic!("the node stopped before serving:\n{printed}");
            };
            printed.push_str(&line);
            printed.push('\n');
            if let Some(rest) = line.split("serving on ").nth(1) {
                break rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
            }
        };
        // Keep reading, so a full pipe never blocks the node's logging.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, base }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP reply: its status (0 when no reply came) and body.
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(REQUEST_TIMEOUT))
        .build()
        .into()
}

pub fn call(agent: &ureq::Agent, method: &str, url: &str, key: &str, body: Option<Value>) -> Reply {
    let auth = format!("Bearer {key}");
    let sent = match (method, body) {
        ("GET", _) => agent.get(url).header("Authorization", &auth).call(),
        ("DELETE", _) => agent.delete(url).header("Authorization", &auth).call(),
        (_, body) => agent
            .post(url)
            .header("Authorization", &auth)
            .header("Content-Type", "application/json")
            .send(body.unwrap_or(Value::Null).to_string().as_bytes()),
    };
    match sent {
        Ok(mut reply) => Reply {
            status: reply.status().as_u16(),
            body: serde_json::from_str(&reply.body_mut().read_to_string().unwrap_or_default())
                .unwrap_or(Value::Null),
        },
        Err(_) => Reply {
            status: 0,
            body: Value::Null,
        },
    }
}

pub fn ok_call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    key: &str,
    body: Option<Value>,
) -> Value {
    let reply = call(agent, method, url, key, body);
    assert!(
        (200..300).contains(&reply.status),
        "{method} {url}: {} {}",
        reply.status,
        reply.body
    );
    reply.body
}

/// Now, as the nodes (on the system clock) see it.
#[allow(clippy::disallowed_methods)]
pub fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

pub fn day(days_before: i64) -> String {
    now()
        .checked_sub(jiff::SignedDuration::from_hours(24 * days_before))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%d")
        .to_string()
}

pub fn in_a_year() -> String {
    now()
        .checked_add(jiff::SignedDuration::from_hours(24 * 365))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}

/// Two years of a loan paid on time.
pub fn history(subject: &str) -> Vec<Value> {
    let mut events = vec![
        json!({"event_id": format!("{subject}-open"), "subject_id": subject, "kind": "account_opened", "occurred_at": day(760), "account_id": "loan", "account_type": "loan"}),
    ];
    for month in 0..24 {
        let due = 730 - month * 30;
        events.push(json!({"event_id": format!("{subject}-bill-{month}"), "subject_id": subject, "kind": "bill_due", "occurred_at": day(due), "account_id": "loan", "bill_id": format!("b{month}"), "amount": 20000, "currency": "EUR"}));
        events.push(json!({"event_id": format!("{subject}-pay-{month}"), "subject_id": subject, "kind": "payment_made", "occurred_at": day(due), "account_id": "loan", "bill_id": format!("b{month}"), "amount": 20000, "currency": "EUR", "days_late": 0}));
    }
    events
}
