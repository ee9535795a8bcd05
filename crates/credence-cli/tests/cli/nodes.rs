//! Many `credence serve` nodes over one PostgreSQL database: what any node
//! acknowledges holds on every node, through a node killed mid-load and
//! the database server itself going away and coming back.

use super::harness::{Node, agent, call, day, history, in_a_year, ok_call};
use super::{ok, postgres_schema};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
/// Longest a request may take while the database is away before it is
/// answered 503 `unavailable` (the bound the scale-out notes state).
const OUTAGE_ANSWER_WITHIN: Duration = Duration::from_secs(12);
const SUBJECTS: usize = 12;

/// A subject as the test drives them.
struct Subject {
    id: String,
    token: String,
    pseudonym: String,
}

/// A partner check as it was asked and answered.
struct Asked {
    subject: usize,
    started: Instant,
    transaction: String,
    status: u16,
    eligible: Option<bool>,
    answered_at: Option<String>,
}

/// When a subject's consent was off: from its revocation's acknowledgement
/// to the moment its new grant was sent (or the end).
type Revoked = (usize, Instant, Option<Instant>);

#[test]
#[ignore = "stops and starts its PostgreSQL server: scripts/test runs it alone, on a cluster of its own"]
fn many_nodes_over_one_postgresql_keep_every_promise_through_a_kill_and_an_outage() {
    let Some(url) = postgres_schema("nodes") else {
        return;
    };
    let control = |name: &str| {
        std::env::var(format!("CREDENCE_TEST_POSTGRES_{name}")).unwrap_or_else(|_| {
            panic!("CREDENCE_TEST_POSTGRES_{name} (scripts/with-postgres sets it)")
        })
    };
    let (stop_postgres, start_postgres) = (control("STOP"), control("START"));
    let dir = tempfile::tempdir().expect("temp dir");
    let operator = ok(
        dir.path(),
        &[
            "keys", "create", "--role", "operator", "--label", "test", "--db", &url,
        ],
    )
    .trim()
    .to_string();
    let mut nodes: Vec<Node> = (0..3).map(|_| Node::start(dir.path(), &url)).collect();
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let http = agent();
    let at = |node: usize, path: &str| format!("{}{path}", bases[node]);

    // Set up through different nodes: each sees what another wrote.
    ok_call(
        &http,
        "POST",
        &at(0, "/v1/operator/furnishers"),
        &operator,
        Some(
            json!({"id": "bank", "name": "Bank", "kinds": ["account_opened", "bill_due", "payment_made"]}),
        ),
    );
    ok_call(
        &http,
        "POST",
        &at(1, "/v1/operator/partners"),
        &operator,
        Some(json!({"id": "bikes", "name": "Bikes"})),
    );
    let key = |node: usize, role: &str, principal: &str| {
        ok_call(
            &http,
            "POST",
            &at(node, "/v1/operator/keys"),
            &operator,
            Some(json!({"role": role, "principal": principal})),
        )["key"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let bank = key(2, "furnisher", "bank");
    let bikes = key(0, "partner", "bikes");
    ok_call(
        &http,
        "POST",
        &at(1, "/v1/partner/perks"),
        &bikes,
        Some(
            json!({"id": "ride", "partner_id": "bikes", "name": "Deposit-free ride", "min_score": 350}),
        ),
    );
    let subjects: Vec<Subject> = (0..SUBJECTS)
        .map(|i| {
            let id = format!("subject-{i}");
            let node = i % 3;
            ok_call(&http, "POST", &at(node, "/v1/operator/subjects"), &operator,
                Some(json!({"subject_id": id, "kind": "person"})));
            ok_call(&http, "POST", &at((node + 1) % 3, "/v1/events"), &bank,
                Some(Value::Array(history(&id))));
            let token = ok_call(&http, "POST", &at(node, &format!("/v1/operator/subjects/{id}/token")),
                &operator, Some(json!({"minutes": 600})))["token"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let consent = ok_call(&http, "POST", &at((node + 2) % 3, "/v1/me/consents"), &token,
                Some(json!({"partner_id": "bikes", "scope": "eligibility", "purpose": "deposit-free rides",
                    "expires_at": in_a_year(), "perk_ids": ["ride"]})));
            Subject {
                id,
                token,
                pseudonym: consent["pseudonym"].as_str().unwrap_or_default().to_string(),
            }
        })
        .collect();

    // Mixed load on every live node; node 2 is killed a third of the way.
    let alive = Arc::new([
        AtomicBool::new(true),
        AtomicBool::new(true),
        AtomicBool::new(true),
    ]);
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged: Mutex<Vec<Vec<String>>> = Mutex::new(Vec::new());
    let unacknowledged: Mutex<Vec<Vec<String>>> = Mutex::new(Vec::new());
    let asked: Mutex<Vec<Asked>> = Mutex::new(Vec::new());
    let revoked: Mutex<Vec<Revoked>> = Mutex::new(Vec::new());
    let disputes = AtomicUsize::new(0);
    let pick = |n: usize| {
        (0..3)
            .map(|k| (n + k) % 3)
            .find(|&node| alive[node].load(Ordering::SeqCst))
            .unwrap_or(0)
    };
    std::thread::scope(|scope| {
        // Ingest: batches of a bill and its payment for one subject.
        scope.spawn(|| {
            let http = agent();
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let subject = &subjects[n % SUBJECTS].id;
                let bill = format!("{subject}-extra-bill-{n}");
                let batch = vec![
                    json!({"event_id": bill, "subject_id": subject, "kind": "bill_due", "occurred_at": day(3), "account_id": "loan", "bill_id": format!("x{n}"), "amount": 100, "currency": "EUR"}),
                    json!({"event_id": format!("{subject}-extra-pay-{n}"), "subject_id": subject, "kind": "payment_made", "occurred_at": day(3), "account_id": "loan", "bill_id": format!("x{n}"), "amount": 100, "currency": "EUR", "days_late": 0}),
                ];
                let ids: Vec<String> = batch.iter().map(|e| e["event_id"].as_str().unwrap_or_default().to_string()).collect();
                let reply = call(&http, "POST", &at(pick(n), "/v1/events"), &bank, Some(Value::Array(batch)));
                let book = if reply.status == 200 { &acknowledged } else { &unacknowledged };
                book.lock().expect("lock").push(ids);
                n += 1;
            }
        });
        // Partner checks, each transaction asked of two nodes.
        for checker in 0..2 {
            let (asked, stop, subjects, bikes) = (&asked, &stop, &subjects, &bikes);
            scope.spawn(move || {
                let http = agent();
                let mut n = checker;
                while !stop.load(Ordering::SeqCst) {
                    let subject = (n * 7) % SUBJECTS;
                    let transaction = format!("t{checker}-{n}");
                    for node in [pick(n), pick(n + 1)] {
                        let started = Instant::now();
                        let reply = call(&http, "POST", &at(node, "/v1/partner/check"), bikes,
                            Some(json!({"pseudonym": subjects[subject].pseudonym, "perk_id": "ride", "transaction_id": transaction})));
                        asked.lock().expect("lock").push(Asked {
                            subject,
                            started,
                            transaction: transaction.clone(),
                            status: reply.status,
                            eligible: reply.body["eligible"].as_bool(),
                            answered_at: reply.body["answered_at"].as_str().map(str::to_string),
                        });
                    }
                    n += 2;
                }
            });
        }
        // Consents revoked and granted again by the first four subjects,
        // and disputes opened, through any node.
        scope.spawn(|| {
            let http = agent();
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let subject = n % 4;
                let who = &subjects[subject];
                let reply = call(&http, "DELETE", &at(pick(n), "/v1/me/consents/bikes"), &who.token, None);
                if reply.status == 200 {
                    revoked.lock().expect("lock").push((subject, Instant::now(), None));
                }
                std::thread::sleep(Duration::from_millis(150));
                let sent = Instant::now();
                let reply = call(&http, "POST", &at(pick(n + 1), "/v1/me/consents"), &who.token,
                    Some(json!({"partner_id": "bikes", "scope": "eligibility", "purpose": "deposit-free rides",
                        "expires_at": in_a_year(), "perk_ids": ["ride"]})));
                if let Some(last) = revoked.lock().expect("lock").iter_mut().rev().find(|r| r.0 == subject) {
                    last.2.get_or_insert(sent);
                }
                assert!(reply.status == 200 || reply.status == 0, "{} {}", reply.status, reply.body);
                let disputer = &subjects[4 + n % 8];
                let event = format!("{}-bill-{}", disputer.id, n % 24);
                let reply = call(&http, "POST", &at(pick(n + 2), "/v1/me/disputes"), &disputer.token,
                    Some(json!({"furnisher_id": "bank", "event_id": event, "reason": "not mine"})));
                if reply.status == 200 || reply.status == 201 {
                    disputes.fetch_add(1, Ordering::SeqCst);
                }
                n += 1;
            }
        });
        std::thread::sleep(Duration::from_secs(2));
        alive[2].store(false, Ordering::SeqCst);
        let _ = nodes[2].child.kill(); // SIGKILL
        let _ = nodes[2].child.wait();
        std::thread::sleep(Duration::from_secs(4));
        stop.store(true, Ordering::SeqCst);
    });
    nodes.truncate(2);

    let acknowledged = acknowledged.into_inner().expect("lock");
    let unacknowledged = unacknowledged.into_inner().expect("lock");
    let asked = asked.into_inner().expect("lock");
    let revoked = revoked.into_inner().expect("lock");
    assert!(
        acknowledged.len() > 20,
        "{} batches acknowledged",
        acknowledged.len()
    );
    assert!(!revoked.is_empty() && disputes.load(Ordering::SeqCst) > 0);

    // Every acknowledged event is on file exactly once; a batch that was
    // not acknowledged is there whole or not at all.
    let mut on_file: HashMap<String, usize> = HashMap::new();
    for subject in &subjects {
        let export = ok_call(&http, "GET", &at(0, "/v1/me/export"), &subject.token, None);
        for event in export["events"].as_array().into_iter().flatten() {
            *on_file
                .entry(event["event_id"].as_str().unwrap_or_default().to_string())
                .or_default() += 1;
        }
    }
    for batch in &acknowledged {
        for id in batch {
            assert_eq!(on_file.get(id), Some(&1), "acknowledged event {id}");
        }
    }
    for batch in &unacknowledged {
        let present = batch.iter().filter(|id| on_file.contains_key(*id)).count();
        assert!(
            present == 0 || present == batch.len(),
            "a batch half on file: {batch:?}"
        );
    }

    // No check that started after a revocation was acknowledged (and before
    // the consent was granted again) was answered yes; no check got a 500.
    for check in &asked {
        assert!(check.status != 500, "a check got 500");
        for &(subject, acknowledged, regranted) in &revoked {
            let off = check.started > acknowledged && regranted.is_none_or(|r| check.started < r);
            if check.subject == subject && off {
                assert_ne!(
                    check.eligible,
                    Some(true),
                    "a check after a revocation was answered yes"
                );
            }
        }
    }
    // Every node that answered a transaction gave the same answer.
    // Per transaction: each answer's verdict and when it was first given.
    type Given<'a> = (Option<bool>, Option<&'a str>);
    let mut by_transaction: BTreeMap<&str, Vec<Given>> = BTreeMap::new();
    for check in asked.iter().filter(|c| c.status == 200) {
        by_transaction
            .entry(&check.transaction)
            .or_default()
            .push((check.eligible, check.answered_at.as_deref()));
    }
    let answered_twice = by_transaction.values().filter(|a| a.len() == 2).count();
    assert!(
        answered_twice > 10,
        "{answered_twice} transactions answered by two nodes"
    );
    for (transaction, answers) in &by_transaction {
        assert!(
            answers.windows(2).all(|w| w[0] == w[1]),
            "transaction {transaction}: {answers:?}"
        );
    }
    let verdict = ok(dir.path(), &["audit", "verify", "--db", &url]);
    assert!(verdict.contains("intact"), "{verdict}");
    eprintln!(
        "many nodes: {} batches acknowledged, {} not; {} checks ({} refused), {answered_twice} transactions answered by two nodes; {} revocations; {} disputes",
        acknowledged.len(),
        unacknowledged.len(),
        asked.len(),
        asked.iter().filter(|c| c.status == 403).count(),
        revoked.len(),
        disputes.load(Ordering::SeqCst)
    );

    // A key revoked through one node is refused by another within the
    // follow interval (250 ms).
    let spare = key(0, "partner", "bikes");
    let spare_id = spare
        .trim_start_matches("crd_")
        .split('_')
        .next()
        .unwrap_or_default()
        .to_string();
    let probes = AtomicUsize::new(0);
    let probe = |node: usize, key: &str| {
        let transaction = format!("probe-{}", probes.fetch_add(1, Ordering::SeqCst));
        call(&http, "POST", &at(node, "/v1/partner/check"), key,
            Some(json!({"pseudonym": subjects[5].pseudonym, "perk_id": "ride", "transaction_id": transaction})))
            .status
    };
    assert_eq!(probe(1, &spare), 200, "the new key works on the other node");
    ok_call(
        &http,
        "DELETE",
        &at(0, &format!("/v1/operator/keys/{spare_id}")),
        &operator,
        None,
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        probe(1, &spare),
        401,
        "a key revoked on node 0 is refused on node 1"
    );

    // The database goes away: requests get 503 `unavailable` in bounded
    // time, never 500, and the nodes recover by themselves.
    let stopped = std::process::Command::new(&stop_postgres)
        .status()
        .expect("stops PostgreSQL");
    assert!(stopped.success());
    let outage = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .flat_map(|node| {
                let (bikes, bank, subjects, at) = (&bikes, &bank, &subjects, &at);
                [
                    scope.spawn(move || {
                        let started = Instant::now();
                        let reply = call(&agent(), "POST", &at(node, "/v1/partner/check"), bikes,
                            Some(json!({"pseudonym": subjects[6].pseudonym, "perk_id": "ride", "transaction_id": format!("outage-{node}")})));
                        (reply, started.elapsed())
                    }),
                    scope.spawn(move || {
                        let started = Instant::now();
                        let reply = call(&agent(), "POST", &at(node, "/v1/events"), bank,
                            Some(json!([{"event_id": format!("outage-{node}"), "subject_id": subjects[6].id, "kind": "bill_due", "occurred_at": day(1), "account_id": "loan", "bill_id": format!("o{node}"), "amount": 100, "currency": "EUR"}])));
                        (reply, started.elapsed())
                    }),
                ]
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("joins"))
            .collect::<Vec<_>>()
    });
    eprintln!(
        "many nodes: answered during the outage in {:?}",
        outage.iter().map(|(_, took)| *took).collect::<Vec<_>>()
    );
    for (reply, took) in &outage {
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (503, Some("unavailable")),
            "{}",
            reply.body
        );
        assert!(*took < OUTAGE_ANSWER_WITHIN, "answered after {took:?}");
    }
    let started = std::process::Command::new(&start_postgres)
        .status()
        .expect("starts PostgreSQL");
    assert!(started.success());
    for node in 0..2 {
        let since = Instant::now();
        loop {
            let status = probe(node, &bikes);
            if status == 200 {
                break;
            }
            assert!(
                since.elapsed() < Duration::from_secs(30),
                "node {node} did not recover: {status}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let verdict = ok(dir.path(), &["audit", "verify", "--db", &url]);
    assert!(verdict.contains("intact"), "{verdict}");
}
