//! The real server on port 0, driven over HTTP: authorisation, consent,
//! freeze, pseudonyms, disputes with the 20-day rule, erasure, audit
//! tampering, ingest atomicity and idempotency, bad inputs.

use credence_service::platform::{Answering, KeySpec, Limits, Platform, Principal, Role};
use credence_service::{Clock, Config};
use credence_store::Store;
use credence_store_sqlite::SqliteStore;
use jiff::Timestamp;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// A clock tests can move.
struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_second(self.0.load(Ordering::SeqCst)).unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

impl TestClock {
    fn advance_days(&self, days: i64) {
        self.0.fetch_add(days * 86_400, Ordering::SeqCst);
    }
}

/// Where a world's database is: a SQLite file, or, when
/// `CREDENCE_TEST_BACKEND=postgres` (as `scripts/test` sets for a second
/// run of these tests), a new schema of the PostgreSQL database
/// `CREDENCE_TEST_POSTGRES` names. Every test runs on either.
enum TestDb {
    Sqlite(PathBuf),
    Postgres(String),
}

impl TestDb {
    fn new(dir: &Path) -> Self {
        if std::env::var("CREDENCE_TEST_BACKEND").as_deref() != Ok("postgres") {
            return Self::Sqlite(dir.join("api.db"));
        }
        let url = std::env::var("CREDENCE_TEST_POSTGRES").unwrap_or_else(|_| {
            panic!("CREDENCE_TEST_BACKEND=postgres needs CREDENCE_TEST_POSTGRES")
        });
        static NEXT: AtomicI64 = AtomicI64::new(0);
        let schema = format!(
            "api_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let mut client =
            postgres::Client::connect(&url, postgres::NoTls).unwrap_or_else(|e| panic!("{e}"));
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .unwrap_or_else(|e| panic!("{e}"));
        let joiner = if url.contains('?') { '&' } else { '?' };
        Self::Postgres(format!("{url}{joiner}options=-c%20search_path%3D{schema}"))
    }

    /// As `credence serve` answers on it: alone on an embedded file (it
    /// holds the serving claim), shared on PostgreSQL (any number of
    /// nodes).
    fn answering(&self) -> Answering {
        match self {
            Self::Sqlite(_) => Answering::Alone,
            Self::Postgres(_) => Answering::Shared,
        }
    }

    fn open(&self) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(path) => {
                Arc::new(SqliteStore::open(path).unwrap_or_else(|e| panic!("{e}")))
            }
            Self::Postgres(url) => Arc::new(
                credence_store_postgres::PostgresStore::open(url).unwrap_or_else(|e| panic!("{e}")),
            ),
        }
    }

    /// A session on the database, for what only a tamperer would do.
    fn raw(&self) -> RawSession {
        match self {
            Self::Sqlite(path) => RawSession::Sqlite(
                rusqlite::Connection::open(path).unwrap_or_else(|e| panic!("{e}")),
            ),
            Self::Postgres(url) => RawSession::Postgres(Box::new(
                postgres::Client::connect(url, postgres::NoTls).unwrap_or_else(|e| panic!("{e}")),
            )),
        }
    }
}

/// One connection, so temporary tables live from one statement to the next.
enum RawSession {
    Sqlite(rusqlite::Connection),
    Postgres(Box<postgres::Client>),
}

impl RawSession {
    fn execute_batch(&mut self, sql: &str) {
        match self {
            Self::Sqlite(c) => c
                .execute_batch(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
            Self::Postgres(c) => c
                .batch_execute(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
        }
    }
}

struct World {
    base: String,
    clock: Arc<TestClock>,
    db: TestDb,
    operator: String,
    bank: String,
    other_bank: String,
    bikes: String,
    hotel: String,
    _dir: tempfile::TempDir,
    server: Option<std::thread::JoinHandle<()>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// 2026-11-01, a Sunday noon.
const NOW: i64 = 1_793_534_400;

struct Reply {
    status: u16,
    body: Value,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// Serves `platform` on a port of its own; returns its base URL, the
/// server's thread and the sender that shuts it down.
fn serve(
    platform: Arc<Platform>,
) -> (
    String,
    std::thread::JoinHandle<()>,
    tokio::sync::oneshot::Sender<()>,
) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel::<SocketAddr>();
    let server = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let _ = addr_tx.send(listener.local_addr().unwrap_or_else(|e| panic!("{e}")));
            let _ = credence_server::serve(listener, platform, async {
                let _ = rx.await;
            })
            .await;
        });
    });
    let address = addr_rx.recv().unwrap_or_else(|e| panic!("{e}"));
    (format!("http://{address}"), server, tx)
}

impl World {
    fn start() -> World {
        Self::start_with(Limits {
            max_batch_events: 200,
            ..Limits::default()
        })
    }

    fn start_with(limits: Limits) -> World {
        Self::start_at(
            tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")),
            limits,
        )
    }

    /// A world whose database (when on SQLite) lives in `dir`.
    fn start_at(dir: tempfile::TempDir, limits: Limits) -> World {
        let db = TestDb::new(dir.path());
        let store = db.open();
        let clock = Arc::new(TestClock(AtomicI64::new(NOW)));
        let platform = Arc::new(
            Platform::open(
                store,
                &Config::default(),
                clock.clone(),
                limits,
                db.answering(),
            )
            .unwrap_or_else(|e| panic!("{e}")),
        );
        let operator = platform
            .registry()
            .create_key(
                &Principal::System { name: "test" },
                &KeySpec {
                    role: Role::Operator,
                    principal: None,
                    label: "test".into(),
                },
            )
            .unwrap_or_else(|e| panic!("{e}"))
            .key;
        let (base, server, shutdown) = serve(platform);
        let mut world = World {
            base,
            clock,
            db,
            operator,
            bank: String::new(),
            other_bank: String::new(),
            bikes: String::new(),
            hotel: String::new(),
            _dir: dir,
            server: Some(server),
            shutdown: Some(shutdown),
        };
        world.set_up();
        world
    }

    /// Stops the server (gracefully) and starts a new one on the same
    /// database and clock, as a restarted process would.
    fn restart(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .join()
                .unwrap_or_else(|_| panic!("the server thread panicked"));
        }
        let store = self.db.open();
        let platform = Arc::new(
            Platform::open(
                store,
                &Config::default(),
                self.clock.clone(),
                Limits::default(),
                self.db.answering(),
            )
            .unwrap_or_else(|e| panic!("{e}")),
        );
        let (base, server, shutdown) = serve(platform);
        self.base = base;
        self.server = Some(server);
        self.shutdown = Some(shutdown);
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        credential: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        let url = format!("{}{path}", self.base);
        let agent = agent();
        let auth = credential.map(|c| format!("Bearer {c}"));
        let response = match (method, body) {
            ("GET", _) => {
                let mut r = agent.get(&url);
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.call()
            }
            ("DELETE", _) => {
                let mut r = agent.delete(&url);
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.call()
            }
            (_, body) => {
                let mut r = agent.post(&url).header("Content-Type", "application/json");
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.send(body.unwrap_or(""))
            }
        };
        let mut response = response.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply { status, body }
    }

    fn ok(&self, method: &str, path: &str, credential: &str, body: Option<Value>) -> Value {
        let text = body.map(|b| b.to_string());
        let reply = self.call(method, path, Some(credential), text.as_deref());
        assert!(
            (200..300).contains(&reply.status),
            "{method} {path} answered {}: {}",
            reply.status,
            reply.body
        );
        reply.body
    }

    fn set_up(&mut self) {
        let op = self.operator.clone();
        for (id, kinds) in [
            (
                "bank",
                vec![
                    "account_opened",
                    "bill_due",
                    "payment_made",
                    "balance_reported",
                    "identity_verified",
                    "income_reported",
                ],
            ),
            (
                "other-bank",
                vec!["account_opened", "bill_due", "payment_made"],
            ),
        ] {
            self.ok(
                "POST",
                "/v1/operator/furnishers",
                &op,
                Some(json!({"id": id, "name": id, "kinds": kinds})),
            );
        }
        for id in ["bikes", "hotel"] {
            self.ok(
                "POST",
                "/v1/operator/partners",
                &op,
                Some(json!({"id": id, "name": id})),
            );
        }
        let key = |w: &World, role: &str, principal: &str| -> String {
            w.ok(
                "POST",
                "/v1/operator/keys",
                &op,
                Some(json!({"role": role, "principal": principal})),
            )["key"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        self.bank = key(self, "furnisher", "bank");
        self.other_bank = key(self, "furnisher", "other-bank");
        self.bikes = key(self, "partner", "bikes");
        self.hotel = key(self, "partner", "hotel");
        self.ok("POST", "/v1/partner/perks", &self.bikes.clone(), Some(json!({"id": "ride", "partner_id": "ignored", "name": "Deposit-free ride", "min_score": 350})));
        self.ok(
            "POST",
            "/v1/partner/perks",
            &self.bikes.clone(),
            Some(
                json!({"id": "gold", "partner_id": "bikes", "name": "Gold ride", "min_score": 950}),
            ),
        );
        self.ok("POST", "/v1/partner/perks", &self.hotel.clone(), Some(json!({"id": "stay", "partner_id": "hotel", "name": "Deposit-free stay", "min_score": 350})));
        for subject in ["alice", "bob"] {
            self.enrol(subject);
        }
    }

    fn enrol(&self, subject: &str) {
        self.ok(
            "POST",
            "/v1/operator/subjects",
            &self.operator,
            Some(json!({"subject_id": subject, "kind": "person"})),
        );
        self.ingest_ok(&history(subject));
    }

    fn ingest(&self, key: &str, events: &[Value]) -> Reply {
        self.call(
            "POST",
            "/v1/events",
            Some(key),
            Some(&Value::Array(events.to_vec()).to_string()),
        )
    }

    fn ingest_ok(&self, events: &[Value]) -> Value {
        let reply = self.ingest(&self.bank, events);
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    }

    fn token(&self, subject: &str) -> String {
        self.ok(
            "POST",
            &format!("/v1/operator/subjects/{subject}/token"),
            &self.operator,
            Some(json!({"minutes": 600})),
        )["token"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn pseudonym(&self, partner_key: &str) -> Vec<String> {
        self.ok("GET", "/v1/partner/consents", partner_key, None)
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c["pseudonym"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn score(&self, token: &str) -> Option<i64> {
        self.ok("GET", "/v1/me", token, None)["report"]["score"].as_i64()
    }
}

fn date(days_before_now: i64) -> String {
    Timestamp::from_second(NOW - days_before_now * 86_400)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%d")
        .to_string()
}

/// Two years of a loan paid on time, plus identity.
fn history(subject: &str) -> Vec<Value> {
    let mut events = vec![
        json!({"event_id": format!("{subject}-open"), "subject_id": subject, "kind": "account_opened", "occurred_at": date(760), "account_id": "loan", "account_type": "loan"}),
        json!({"event_id": format!("{subject}-id"), "subject_id": subject, "kind": "identity_verified", "occurred_at": date(700), "level": "strong"}),
    ];
    for month in 0..24 {
        let due = 730 - month * 30;
        events.push(json!({"event_id": format!("{subject}-bill-{month}"), "subject_id": subject, "kind": "bill_due", "occurred_at": date(due), "account_id": "loan", "bill_id": format!("b{month}"), "amount": 20000, "currency": "EUR"}));
        events.push(json!({"event_id": format!("{subject}-pay-{month}"), "subject_id": subject, "kind": "payment_made", "occurred_at": date(due), "account_id": "loan", "bill_id": format!("b{month}"), "amount": 20000, "currency": "EUR", "days_late": 0}));
    }
    events
}

fn late_payment(subject: &str, id: &str) -> Value {
    json!({"event_id": id, "subject_id": subject, "kind": "payment_made", "occurred_at": date(5), "account_id": "loan", "bill_id": "b-late", "amount": 20000, "currency": "EUR", "days_late": 75})
}

fn grant(world: &World, token: &str, partner: &str, scope: &str) {
    world.ok(
        "POST",
        "/v1/me/consents",
        token,
        Some(json!({"partner_id": partner, "scope": scope, "purpose": "deposit-free rental", "expires_at": "2027-06-01T00:00:00Z"})),
    );
}

fn check(
    world: &World,
    partner_key: &str,
    pseudonym: &str,
    perk: &str,
    transaction: &str,
) -> Reply {
    world.call(
        "POST",
        "/v1/partner/check",
        Some(partner_key),
        Some(
            &json!({"pseudonym": pseudonym, "perk_id": perk, "transaction_id": transaction})
                .to_string(),
        ),
    )
}

/// Every kind of caller, by name: none, each role, and a made-up key.
fn every_role<'a>(
    world: &'a World,
    subject_token: &'a str,
) -> [(&'static str, Option<&'a str>); 6] {
    [
        ("anonymous", None),
        ("operator", Some(&world.operator)),
        ("furnisher", Some(&world.bank)),
        ("partner", Some(&world.bikes)),
        ("subject", Some(subject_token)),
        ("garbage", Some("crd_nope_nope")),
    ]
}

#[test]
fn authorisation_matrix_every_role_every_endpoint_no_leak() {
    let world = World::start();
    let alice = world.token("alice");
    let bob = world.token("bob");
    grant(&world, &alice, "bikes", "full_report");
    let alice_pseudonym = world.pseudonym(&world.bikes)[0].clone();
    let roles = every_role(&world, &alice);
    let question = json!({"pseudonym": alice_pseudonym, "perk_id": "ride", "transaction_id": "m1"})
        .to_string();
    // (method, path, body, roles that may use it)
    let endpoints: Vec<(&str, String, Option<String>, &[&str])> = vec![
        ("GET", "/v1/me".into(), None, &["subject"]),
        ("GET", "/v1/me/history".into(), None, &["subject"]),
        ("GET", "/v1/me/perks".into(), None, &["subject"]),
        ("GET", "/v1/me/consents".into(), None, &["subject"]),
        ("GET", "/v1/me/access-log".into(), None, &["subject"]),
        ("GET", "/v1/me/disputes".into(), None, &["subject"]),
        ("GET", "/v1/me/notices".into(), None, &["subject"]),
        ("GET", "/v1/me/reviews".into(), None, &["subject"]),
        ("GET", "/v1/me/export".into(), None, &["subject"]),
        (
            "POST",
            "/v1/me/what-if".into(),
            Some(json!({"scenarios": [{"type": "on_time_months", "months": 3}]}).to_string()),
            &["subject"],
        ),
        ("GET", "/v1/partners".into(), None, &["subject", "operator"]),
        ("GET", "/v1/partner/consents".into(), None, &["partner"]),
        ("GET", "/v1/partner/perks".into(), None, &["partner"]),
        (
            "POST",
            "/v1/partner/check".into(),
            Some(question.clone()),
            &["partner"],
        ),
        (
            "POST",
            "/v1/partner/score".into(),
            Some(question.replace("m1", "m2")),
            &["partner"],
        ),
        (
            "POST",
            "/v1/partner/report".into(),
            Some(question.replace("m1", "m3")),
            &["partner"],
        ),
        (
            "POST",
            "/v1/events".into(),
            Some(json!([late_payment("alice", "matrix-1")]).to_string()),
            &["furnisher"],
        ),
        (
            "GET",
            "/v1/furnisher/disputes".into(),
            None,
            &["furnisher", "operator"],
        ),
        ("GET", "/v1/operator/furnishers".into(), None, &["operator"]),
        ("GET", "/v1/operator/keys".into(), None, &["operator"]),
        ("GET", "/v1/operator/stats".into(), None, &["operator"]),
        ("GET", "/v1/operator/models".into(), None, &["operator"]),
        ("GET", "/v1/operator/perks".into(), None, &["operator"]),
        ("GET", "/v1/operator/disputes".into(), None, &["operator"]),
        ("GET", "/v1/operator/reviews".into(), None, &["operator"]),
        (
            "GET",
            "/v1/operator/audit/verify".into(),
            None,
            &["operator"],
        ),
        (
            "POST",
            "/v1/operator/subjects/alice/token".into(),
            Some("{}".into()),
            &["operator"],
        ),
        (
            "POST",
            "/v1/operator/partners".into(),
            Some(json!({"id": "p2", "name": "P2"}).to_string()),
            &["operator"],
        ),
        (
            "POST",
            "/v1/operator/subjects/alice/restricted-data-consent".into(),
            Some(
                json!({"given": false, "on_behalf": "withdrawn by letter, 2026-10-30"}).to_string(),
            ),
            &["operator"],
        ),
        (
            "DELETE",
            "/v1/me/restricted-data-consent".into(),
            None,
            &["subject"],
        ),
    ];
    for (method, path, body, allowed) in &endpoints {
        for (role, credential) in &roles {
            let reply = world.call(method, path, *credential, body.as_deref());
            let may = allowed.contains(role);
            if may {
                assert!(
                    (200..300).contains(&reply.status),
                    "{role} should be able to {method} {path}: {} {}",
                    reply.status,
                    reply.body
                );
            } else {
                assert!(
                    [401, 403].contains(&reply.status),
                    "{role} must not {method} {path}: got {} {}",
                    reply.status,
                    reply.body
                );
                let code = reply.body["code"].as_str().unwrap_or_default();
                assert!(["unauthenticated", "forbidden"].contains(&code), "{code}");
            }
        }
    }
    // Own versus other subject: each token sees its own file only.
    let mine = world.ok("GET", "/v1/me", &alice, None);
    assert_eq!(mine["subject_id"], "alice");
    let theirs = world.ok("GET", "/v1/me", &bob, None);
    assert_eq!(theirs["subject_id"], "bob");
    let bob_export = world.ok("GET", "/v1/me/export", &bob, None).to_string();
    assert!(!bob_export.contains("alice"), "bob's export mentions alice");
    // A partner with consent for alice cannot reach bob, who gave none.
    let bob_pseudonym_for_bikes = "ps_00000000000000000000000000000000";
    let reply = check(&world, &world.bikes, bob_pseudonym_for_bikes, "ride", "x1");
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (403, Some("consent_required"))
    );
    // Another partner cannot use bikes' pseudonym for alice.
    let reply = check(&world, &world.hotel, &alice_pseudonym, "stay", "x2");
    assert_eq!(reply.body["code"], "consent_required");
    // The full report a partner gets names the pseudonym, never the id.
    let report = world.ok(
        "POST",
        "/v1/partner/report",
        &world.bikes,
        Some(json!({"pseudonym": alice_pseudonym, "transaction_id": "r9"})),
    );
    assert!(!report.to_string().contains("alice"));
    // A furnisher cannot report for another furnisher.
    let mut forged = late_payment("alice", "forged");
    forged["furnisher_id"] = json!("other-bank");
    let reply = world.ingest(&world.bank, &[forged]);
    assert_eq!(reply.status, 422);
    assert_eq!(reply.body["problems"][0]["code"], "furnisher_mismatch");
}

#[test]
fn every_request_body_is_read_only_after_the_role_is_admitted() {
    let world = World::start();
    let alice = world.token("alice");
    let roles = every_role(&world, &alice);
    // Every operation of the published contract that takes a body, with
    // the roles it serves; one missing here fails the test.
    let audiences: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("/v1/events", &["furnisher"][..]),
        (
            "/v1/disputes/{dispute_id}/answer",
            &["furnisher", "operator"][..],
        ),
        ("/v1/me/what-if", &["subject"][..]),
        ("/v1/me/consents", &["subject"][..]),
        ("/v1/me/disputes", &["subject"][..]),
        ("/v1/me/statements", &["subject"][..]),
        ("/v1/me/reviews", &["subject"][..]),
        ("/v1/partner/perks", &["partner"][..]),
        ("/v1/partner/check", &["partner"][..]),
        ("/v1/partner/score", &["partner"][..]),
        ("/v1/partner/report", &["partner"][..]),
        ("/v1/operator/furnishers", &["operator"][..]),
        ("/v1/operator/partners", &["operator"][..]),
        ("/v1/operator/keys", &["operator"][..]),
        ("/v1/operator/subjects", &["operator"][..]),
        (
            "/v1/operator/subjects/{subject_id}/token",
            &["operator"][..],
        ),
        ("/v1/operator/models", &["operator"][..]),
        ("/v1/operator/reviews/{review_id}/close", &["operator"][..]),
        (
            "/v1/operator/subjects/{subject_id}/restricted-data-consent",
            &["operator"][..],
        ),
    ]);
    let contract = world.call("GET", "/openapi.json", None, None).body;
    let with_body: Vec<String> = contract["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, operations)| operations["post"].get("requestBody").is_some())
        .map(|(path, _)| path.clone())
        .collect();
    assert!(with_body.len() >= audiences.len(), "{with_body:?}");
    for path in &with_body {
        let Some(allowed) = audiences.get(path.as_str()) else {
            panic!("POST {path} takes a body: add its audience to this test");
        };
        let concrete = path
            .replace("{dispute_id}", "no-such-dispute")
            .replace("{subject_id}", "alice")
            .replace("{review_id}", "no-such-review");
        for (role, credential) in &roles {
            let reply = world.call("POST", &concrete, *credential, Some("{not json"));
            let code = reply.body["code"].as_str().unwrap_or_default().to_string();
            if allowed.contains(role) {
                assert_eq!(
                    (reply.status, code.as_str()),
                    (400, "invalid_request"),
                    "{role} POST {path} with a broken body: {}",
                    reply.body
                );
            } else {
                assert!(
                    [(401, "unauthenticated"), (403, "forbidden")]
                        .contains(&(reply.status, code.as_str())),
                    "{role} must be refused POST {path} before its body is read: {} {}",
                    reply.status,
                    reply.body
                );
            }
        }
    }
}

#[test]
fn consent_grant_check_revoke_denied_at_once_and_freeze() {
    let world = World::start();
    let alice = world.token("alice");
    let reply = world.call("GET", "/v1/partner/consents", Some(&world.bikes), None);
    assert_eq!(reply.body, json!([]), "no consent yet");
    grant(&world, &alice, "bikes", "eligibility");
    let pseudonym = world.pseudonym(&world.bikes)[0].clone();
    let yes = check(&world, &world.bikes, &pseudonym, "ride", "t1");
    assert_eq!(yes.status, 200, "{}", yes.body);
    assert_eq!(yes.body["eligible"], true);
    assert!(
        yes.body.get("score").is_none(),
        "eligibility never reveals the number"
    );
    let no = check(&world, &world.bikes, &pseudonym, "gold", "t2");
    assert_eq!(no.body["eligible"], false);
    // The check's fast path scores exactly as the subject's own view does:
    // a perk at exactly that score is met, one point more is not.
    let exact = world
        .score(&alice)
        .unwrap_or_else(|| panic!("alice is scored"));
    for (perk, min_score, expected) in [("exact", exact, true), ("one-more", exact + 1, false)] {
        world.ok(
            "POST",
            "/v1/partner/perks",
            &world.bikes,
            Some(json!({"id": perk, "partner_id": "bikes", "name": perk, "min_score": min_score})),
        );
        // A perk created after a consent is not covered by it (the
        // least-disclosure bound): the subject grants again, seeing it.
        grant(&world, &alice, "bikes", "eligibility");
        let answer = check(
            &world,
            &world.bikes,
            &pseudonym,
            perk,
            &format!("exact-{perk}"),
        );
        assert_eq!(
            answer.body["eligible"], expected,
            "{perk} at {min_score}: {}",
            answer.body
        );
    }
    // A furnisher's batch counts for the next check as soon as its
    // response returns (the check reads the subject's log through the
    // store's cache, which the batch's commit updates).
    world.ingest_ok(&[late_payment("alice", "late-for-check")]);
    let after = check(&world, &world.bikes, &pseudonym, "exact", "exact-after");
    assert_eq!(
        after.body["eligible"], false,
        "a late payment lowers the score below {exact}: {}",
        after.body
    );
    let lowered = world
        .score(&alice)
        .unwrap_or_else(|| panic!("alice is still scored"));
    assert!(
        lowered < exact,
        "{lowered} after the late payment, {exact} before"
    );
    // Eligibility scope does not reach the score.
    let reply = world.call(
        "POST",
        "/v1/partner/score",
        Some(&world.bikes),
        Some(&json!({"pseudonym": pseudonym, "transaction_id": "t3"}).to_string()),
    );
    assert_eq!(reply.body["code"], "consent_required");

    // Freeze: refused at once; unfreeze: allowed at once.
    world.ok("POST", "/v1/me/freeze", &alice, None);
    let frozen = check(&world, &world.bikes, &pseudonym, "ride", "t4");
    assert_eq!(
        (frozen.status, frozen.body["code"].as_str()),
        (403, Some("frozen"))
    );
    world.ok("DELETE", "/v1/me/freeze", &alice, None);
    assert_eq!(
        check(&world, &world.bikes, &pseudonym, "ride", "t5").status,
        200
    );

    // Revoke: the very next ask is denied.
    world.ok("DELETE", "/v1/me/consents/bikes", &alice, None);
    let denied = check(&world, &world.bikes, &pseudonym, "ride", "t6");
    assert_eq!(
        (denied.status, denied.body["code"].as_str()),
        (403, Some("consent_required"))
    );

    // Alice sees who looked and who tried.
    let log = world.ok("GET", "/v1/me/access-log", &alice, None);
    let whats: Vec<&str> = log
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["what"].as_str())
        .collect();
    assert!(whats.contains(&"partner.check"));
    assert!(whats.contains(&"partner.refused"));
    assert!(whats.contains(&"consent.revoke"));
    assert!(
        log.as_array()
            .into_iter()
            .flatten()
            .any(|e| e["who"] == "partner:bikes")
    );
}

#[test]
fn pseudonyms_are_per_partner_and_answers_repeat_within_a_day() {
    let world = World::start();
    let alice = world.token("alice");
    grant(&world, &alice, "bikes", "score");
    grant(&world, &alice, "hotel", "eligibility");
    let for_bikes = world.pseudonym(&world.bikes)[0].clone();
    let for_hotel = world.pseudonym(&world.hotel)[0].clone();
    assert_ne!(for_bikes, for_hotel, "partners cannot join their data");
    assert!(!for_bikes.contains("alice") && !for_hotel.contains("alice"));

    let first = world.ok(
        "POST",
        "/v1/partner/score",
        &world.bikes,
        Some(json!({"pseudonym": for_bikes, "transaction_id": "order-7"})),
    );
    // New data changes the score, but the same transaction on the same day
    // gets the same answer.
    world.ingest_ok(&[late_payment("alice", "late-1")]);
    let again = world.ok(
        "POST",
        "/v1/partner/score",
        &world.bikes,
        Some(json!({"pseudonym": for_bikes, "transaction_id": "order-7"})),
    );
    assert_eq!(first["score"], again["score"]);
    assert_eq!(again["repeated"], true);
    let fresh = world.ok(
        "POST",
        "/v1/partner/score",
        &world.bikes,
        Some(json!({"pseudonym": for_bikes, "transaction_id": "order-8"})),
    );
    assert!(
        fresh["score"].as_i64() < first["score"].as_i64(),
        "a new transaction sees the late payment"
    );
    // The next day the same transaction id is a new question.
    world.clock.advance_days(1);
    let next_day = world.ok(
        "POST",
        "/v1/partner/score",
        &world.bikes,
        Some(json!({"pseudonym": for_bikes, "transaction_id": "order-7"})),
    );
    assert_eq!(next_day["repeated"], false);
}

#[test]
fn eligibility_answers_repeat_across_a_restart_and_stay_with_their_subject() {
    let mut world = World::start();
    let alice = world.token("alice");
    let bob = world.token("bob");
    grant(&world, &alice, "bikes", "eligibility");
    grant(&world, &bob, "bikes", "eligibility");
    let pseudonyms = world.pseudonym(&world.bikes);
    let first = check(&world, &world.bikes, &pseudonyms[0], "ride", "order-1");
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["repeated"], false);

    // A new process knows the day's answers from the audit log.
    world.restart();
    let again = check(&world, &world.bikes, &pseudonyms[0], "ride", "order-1");
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["repeated"], true);
    assert_eq!(again.body["eligible"], first.body["eligible"]);
    assert_eq!(again.body["answered_at"], first.body["answered_at"]);
    // The same transaction id for another subject is refused, not answered
    // with the first subject's answer.
    let reused = check(&world, &world.bikes, &pseudonyms[1], "ride", "order-1");
    assert_eq!(reused.status, 409, "{}", reused.body);
    assert_eq!(reused.body["code"], "conflict");
    let fresh = check(&world, &world.bikes, &pseudonyms[1], "ride", "order-2");
    assert_eq!(fresh.body["repeated"], false);
    // And the log still verifies with answers inside its entries.
    let verdict = world.ok("GET", "/v1/operator/audit/verify", &world.operator, None);
    assert_eq!(verdict["intact"], true, "{verdict}");
}

#[test]
fn dispute_lifecycle_with_the_twenty_day_rule() {
    let world = World::start();
    let alice = world.token("alice");
    let clean = world
        .score(&alice)
        .unwrap_or_else(|| panic!("alice is scored"));
    world.ingest_ok(&[late_payment("alice", "late-1")]);
    let notices = world.ok("GET", "/v1/me/notices", &alice, None);
    assert!(
        notices.to_string().contains("75 days late"),
        "a negative record sends a notice: {notices}"
    );
    let hurt = world.score(&alice).unwrap_or_default();
    assert!(hurt < clean, "the late payment counts: {hurt} vs {clean}");
    let view = world.ok("GET", "/v1/me", &alice, None);
    assert!(
        view["report"]["negative_records"]
            .to_string()
            .contains("stops_counting")
    );

    // Open: the record is excluded at once and the file says so.
    let dispute = world.ok(
        "POST",
        "/v1/me/disputes",
        &alice,
        Some(json!({"furnisher_id": "bank", "event_id": "late-1", "reason": "I paid on time"})),
    );
    assert_eq!(dispute["status"], "open");
    assert_eq!(world.score(&alice), Some(clean));
    let view = world.ok("GET", "/v1/me", &alice, None);
    assert_eq!(view["excluded_under_dispute"][0]["event_id"], "late-1");
    let again = world.call(
        "POST",
        "/v1/me/disputes",
        Some(&alice),
        Some(&json!({"furnisher_id": "bank", "event_id": "late-1", "reason": "again"}).to_string()),
    );
    assert_eq!(again.status, 409);

    // The furnisher sees it; another furnisher does not and cannot answer.
    let queue = world.ok("GET", "/v1/furnisher/disputes", &world.bank, None);
    assert_eq!(queue.as_array().map(Vec::len), Some(1));
    assert_eq!(
        world.ok("GET", "/v1/furnisher/disputes", &world.other_bank, None),
        json!([])
    );
    let id = dispute["id"].as_str().unwrap_or_default().to_string();
    let stolen = world.call(
        "POST",
        &format!("/v1/disputes/{id}/answer"),
        Some(&world.other_bank),
        Some(r#"{"answer":"withdraw"}"#),
    );
    assert_eq!(stolen.status, 404);
    // Confirmed: it counts again.
    world.ok(
        "POST",
        &format!("/v1/disputes/{id}/answer"),
        &world.bank,
        Some(json!({"answer": "confirm", "note": "bank statement shows day 75"})),
    );
    assert_eq!(world.score(&alice), Some(hurt));

    // A second dispute the furnisher ignores resolves for the subject after 20 days.
    world.ingest_ok(&[late_payment("alice", "late-2")]);
    let second = world.ok(
        "POST",
        "/v1/me/disputes",
        &alice,
        Some(json!({"furnisher_id": "bank", "event_id": "late-2", "reason": "not mine"})),
    );
    world.clock.advance_days(19);
    let alice = world.token("alice");
    assert_eq!(
        world.ok("GET", "/v1/me/disputes", &alice, None)[1]["status"],
        "open"
    );
    world.clock.advance_days(1);
    let alice = world.token("alice");
    let disputes = world.ok("GET", "/v1/me/disputes", &alice, None);
    assert_eq!(disputes[1]["id"], second["id"]);
    assert_eq!(disputes[1]["status"], "resolved_for_subject");
    let late = world.call(
        "POST",
        &format!(
            "/v1/disputes/{}/answer",
            second["id"].as_str().unwrap_or_default()
        ),
        Some(&world.bank),
        Some(r#"{"answer":"confirm"}"#),
    );
    assert_eq!(late.status, 409, "too late to answer");
    // The operator's queue is empty again.
    assert_eq!(
        world.ok("GET", "/v1/operator/disputes", &world.operator, None),
        json!([])
    );
}

#[test]
fn opt_out_erases_everything_but_a_tombstone_and_the_audit_record() {
    let world = World::start();
    world.enrol("zed-unique-subject-7731");
    let zed = world.token("zed-unique-subject-7731");
    grant(&world, &zed, "bikes", "eligibility");
    world.ok("POST", "/v1/me/statements", &zed, Some(json!({"furnisher_id": "bank", "event_id": "zed-unique-subject-7731-pay-3", "text": "I was in hospital that month"})));
    world.ok(
        "POST",
        "/v1/me/reviews",
        &zed,
        Some(json!({"about": "bike perk", "message": "please check"})),
    );
    let export = world.ok("GET", "/v1/me/export", &zed, None);
    assert!(export["events"].as_array().map(Vec::len) > Some(40));
    assert_eq!(export["consents"].as_array().map(Vec::len), Some(1));
    let erased = world.ok("DELETE", "/v1/me", &zed, None);
    assert!(erased["events"].as_i64() > Some(40));
    // The token now finds nothing.
    assert_eq!(
        world.call("GET", "/v1/me/export", Some(&zed), None).status,
        404
    );
    // A furnisher's further records are refused.
    let reply = world.ingest(
        &world.bank,
        &[late_payment("zed-unique-subject-7731", "after")],
    );
    assert_eq!(reply.status, 422);
    // A scan of the database files finds nothing of the subject. (On
    // PostgreSQL the server's files are its own; what erasure leaves
    // there is open work, docs/scale-out.md.)
    let mut bytes = Vec::new();
    if let TestDb::Sqlite(path) = &world.db {
        for suffix in ["", "-wal"] {
            if let Ok(b) = std::fs::read(format!("{}{suffix}", path.display())) {
                bytes.extend(b);
            }
        }
    }
    let needle = b"zed-unique-subject-7731";
    if let Some(at) = bytes.windows(needle.len()).position(|w| w == needle) {
        let start = at.saturating_sub(200);
        panic!(
            "the subject id is still in the database at byte {at}: {:?}",
            String::from_utf8_lossy(&bytes[start..(at + 100).min(bytes.len())])
        );
    }
    let statement = b"I was in hospital";
    assert!(
        !bytes.windows(statement.len()).any(|w| w == statement),
        "the statement is still in the database"
    );
    // The audit chain is intact and records the erasure.
    let verdict = world.ok("GET", "/v1/operator/audit/verify", &world.operator, None);
    assert_eq!(verdict["intact"], true);
}

#[test]
fn audit_tampering_is_detected() {
    let world = World::start();
    let alice = world.token("alice");
    world.ok("GET", "/v1/me", &alice, None);
    grant(&world, &alice, "bikes", "eligibility");
    world.ok("GET", "/v1/me/perks", &alice, None);
    let verdict = world.ok("GET", "/v1/operator/audit/verify", &world.operator, None);
    assert_eq!(verdict["intact"], true, "{verdict}");
    let entries = verdict["entries"].as_i64().unwrap_or_default();
    assert!(entries > 5);
    let connection = std::cell::RefCell::new(world.db.raw());
    let tamper = |sql: &str| {
        connection.borrow_mut().execute_batch(sql);
        let verdict = world.ok("GET", "/v1/operator/audit/verify", &world.operator, None);
        assert_eq!(verdict["intact"], false, "{sql}: {verdict}");
        verdict["problem"].as_str().unwrap_or_default().to_string()
    };
    // The log is a set of chains: tamper with one that is long enough.
    connection.borrow_mut().execute_batch(
        "CREATE TEMP TABLE target AS SELECT chain FROM audit WHERE seq = 4 ORDER BY chain LIMIT 1;",
    );
    // Change.
    let problem = tamper(
        "BEGIN; CREATE TEMP TABLE saved AS SELECT * FROM audit WHERE chain = (SELECT chain FROM target) AND seq = 3; UPDATE audit SET detail = 'nothing happened' WHERE chain = (SELECT chain FROM target) AND seq = 3; COMMIT;",
    );
    assert!(problem.contains("entry 3"), "{problem}");
    connection.borrow_mut().execute_batch("UPDATE audit SET detail = (SELECT detail FROM saved) WHERE chain = (SELECT chain FROM target) AND seq = 3;");
    assert_eq!(
        world.ok("GET", "/v1/operator/audit/verify", &world.operator, None)["intact"],
        true
    );
    // Delete.
    tamper(
        "BEGIN; DROP TABLE saved; CREATE TEMP TABLE saved AS SELECT * FROM audit WHERE chain = (SELECT chain FROM target) AND seq = 4; DELETE FROM audit WHERE chain = (SELECT chain FROM target) AND seq = 4; COMMIT;",
    );
    connection
        .borrow_mut()
        .execute_batch("INSERT INTO audit SELECT * FROM saved;");
    // Reorder: swap two entries' contents.
    tamper(
        "BEGIN; UPDATE audit SET seq = -1 WHERE chain = (SELECT chain FROM target) AND seq = 2; UPDATE audit SET seq = 2 WHERE chain = (SELECT chain FROM target) AND seq = 3; UPDATE audit SET seq = 3 WHERE chain = (SELECT chain FROM target) AND seq = -1; COMMIT;",
    );
}

#[test]
fn ingest_is_atomic_idempotent_and_refuses_bad_input_with_clear_codes() {
    let world = World::start();
    let alice = world.token("alice");
    let before = world.ok("GET", "/v1/me/export", &alice, None)["events"]
        .as_array()
        .map(Vec::len);
    let batch = [late_payment("alice", "n1"), late_payment("alice", "n2")];
    assert_eq!(world.ingest_ok(&batch)["inserted"], 2);
    let again = world.ingest_ok(&batch);
    assert_eq!(
        (again["inserted"].as_i64(), again["duplicates"].as_i64()),
        (Some(0), Some(2))
    );
    let count = |w: &World| {
        w.ok("GET", "/v1/me/export", &alice, None)["events"]
            .as_array()
            .map(Vec::len)
    };
    assert_eq!(count(&world), before.map(|n| n + 2));

    let mut future = late_payment("alice", "b1");
    future["occurred_at"] = json!("2031-01-01");
    let mut negative = late_payment("alice", "b2");
    negative["amount"] = json!(-5);
    let mut wrong_type = late_payment("alice", "b3");
    wrong_type["days_late"] = json!("seventy");
    let mut unknown_kind = late_payment("alice", "b4");
    unknown_kind["kind"] = json!("lottery_win");
    let mut prohibited = late_payment("alice", "b5");
    prohibited["religion"] = json!("x");
    let not_allowed = json!({"event_id": "b6", "subject_id": "alice", "kind": "judgment_entered", "occurred_at": date(3), "judgment_id": "j1", "amount": 5000, "currency": "EUR"});
    let cases: [(Value, &[&str]); 6] = [
        (future, &["future_date", "in_the_future", "future"]),
        (negative, &["negative_amount", "negative", "invalid_amount"]),
        (
            wrong_type,
            &[
                "invalid_integer",
                "wrong_type",
                "invalid_number",
                "not_an_integer",
            ],
        ),
        (unknown_kind, &["unknown_kind"]),
        (
            prohibited,
            &["prohibited_category", "prohibited_field", "unknown_field"],
        ),
        (not_allowed, &["kind_not_allowed"]),
    ];
    for (bad, codes) in cases {
        // One bad record spoils the batch: nothing of it is written.
        let reply = world.ingest(
            &world.bank,
            &[late_payment("alice", "good-one"), bad.clone()],
        );
        assert_eq!(reply.status, 422, "{bad}: {}", reply.body);
        assert_eq!(reply.body["code"], "invalid_records");
        let problem = &reply.body["problems"][0];
        assert_eq!(problem["index"], 1, "{}", reply.body);
        let code = problem["code"].as_str().unwrap_or_default();
        assert!(
            codes.iter().any(|c| code.contains(c)),
            "{bad}: code {code}: {}",
            reply.body
        );
        assert!(!problem["message"].as_str().unwrap_or_default().is_empty());
    }
    assert_eq!(
        count(&world),
        before.map(|n| n + 2),
        "nothing of a bad batch was written"
    );

    for (body, code) in [
        ("{not json", "invalid_request"),
        ("[]", "invalid_request"),
        ("{\"events\": 5}", "invalid_request"),
        ("[1, 2]", "invalid_records"),
    ] {
        let reply = world.call("POST", "/v1/events", Some(&world.bank), Some(body));
        assert!(
            (400..500).contains(&reply.status),
            "{body}: {}",
            reply.status
        );
        assert_eq!(reply.body["code"], code, "{body}: {}", reply.body);
    }
    let oversized: Vec<Value> = (0..201)
        .map(|i| late_payment("alice", &format!("big-{i}")))
        .collect();
    let reply = world.ingest(&world.bank, &oversized);
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    // A body over the server's byte limit is refused by the framework
    // before any handler runs: still in the JSON error format.
    let huge = format!("[\"{}\"]", "a".repeat(credence_server::MAX_BODY_BYTES + 1));
    let reply = world.call("POST", "/v1/events", Some(&world.bank), Some(&huge));
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (413, Some("payload_too_large")),
        "{}",
        reply.body
    );
    // A field given twice is refused, not read as whichever came last.
    let twice = late_payment("alice", "twice-1").to_string().replacen(
        "\"subject_id\":\"alice\"",
        "\"subject_id\":\"alice\",\"subject_id\":\"bob\"",
        1,
    );
    assert!(twice.contains("\"bob\""), "{twice}");
    let reply = world.call(
        "POST",
        "/v1/events",
        Some(&world.bank),
        Some(&format!("[{twice}]")),
    );
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(
        reply.body["problems"][0]["code"], "duplicate_field",
        "{}",
        reply.body
    );
    // A body declared as anything but JSON: 415, in the JSON error format,
    // and nothing written.
    for declared in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "text/csv; charset=utf-8",
    ] {
        let response = agent()
            .post(&format!("{}/v1/events", world.base))
            .header("Authorization", &format!("Bearer {}", world.bank))
            .header("Content-Type", declared)
            .send(format!("[{}]", late_payment("alice", "declared-1")));
        let mut response = response.unwrap_or_else(|e| panic!("{e}"));
        let status = response.status().as_u16();
        let body: Value =
            serde_json::from_str(&response.body_mut().read_to_string().unwrap_or_default())
                .unwrap_or(Value::Null);
        assert_eq!(
            (status, body["code"].as_str()),
            (415, Some("unsupported_media_type")),
            "{declared}: {body}"
        );
    }
    // A header that comes without a body is not judged: a GET, or a
    // freeze, which takes no body.
    let read = agent()
        .get(&format!("{}/v1/me", world.base))
        .header("Authorization", &format!("Bearer {}", world.token("alice")))
        .header("Content-Type", "text/plain")
        .call()
        .map(|r| r.status().as_u16());
    assert_eq!(read.ok(), Some(200));
    let freeze = agent()
        .post(&format!("{}/v1/me/freeze", world.base))
        .header("Authorization", &format!("Bearer {}", world.token("bob")))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send("")
        .map(|r| r.status().as_u16());
    assert_eq!(freeze.ok(), Some(200));
    assert_eq!(count(&world), before.map(|n| n + 2));
}

#[test]
fn contract_openapi_health_metrics_and_json_errors() {
    let world = World::start();
    let doc = world.call("GET", "/openapi.json", None, None);
    assert_eq!(doc.status, 200);
    assert!(
        doc.body["openapi"]
            .as_str()
            .unwrap_or_default()
            .starts_with("3.")
    );
    let paths = doc.body["paths"]
        .as_object()
        .map(|p| p.len())
        .unwrap_or_default();
    assert!(paths >= 35, "{paths} paths documented");
    // Every event kind's fields are described, and the batch body names them.
    let schemas = &doc.body["components"]["schemas"];
    assert_eq!(
        doc.body["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
            ["$ref"],
        "#/components/schemas/EventBatch"
    );
    for kind in [
        "subject_enrolled",
        "account_opened",
        "bill_due",
        "payment_made",
        "income_reported",
        "judgment_entered",
    ] {
        let required = schemas[format!("Event_{kind}")]["required"].to_string();
        assert!(
            required.contains("subject_id") && required.contains("occurred_at"),
            "{kind}: {required}"
        );
    }
    assert!(
        schemas["Event_payment_made"]["required"]
            .to_string()
            .contains("days_late")
    );
    assert_eq!(
        world.call("GET", "/healthz", None, None).body["status"],
        "ok"
    );
    let metrics = world.call("GET", "/metrics", None, None);
    assert!(
        metrics
            .body
            .as_str()
            .unwrap_or_default()
            .contains("credence_http_requests_total")
    );
    for (method, path, body) in [
        ("GET", "/nowhere", None),
        ("DELETE", "/healthz", None),
        ("POST", "/v1/me/consents", Some("{\"partner_id\": 5}")),
    ] {
        let reply = world.call(method, path, Some(&world.operator), body);
        assert!((400..500).contains(&reply.status), "{path}");
        assert!(
            reply.body["code"].is_string() && reply.body["message"].is_string(),
            "{path}: {}",
            reply.body
        );
    }
    let alice = world.token("alice");
    let bad = world.call("POST", "/v1/me/consents", Some(&alice), Some(r#"{"partner_id":"bikes","scope":"everything","purpose":"x","expires_at":"2027-01-01T00:00:00Z"}"#));
    assert_eq!(bad.status, 400);
    let past = world.call("POST", "/v1/me/consents", Some(&alice), Some(r#"{"partner_id":"bikes","scope":"score","purpose":"x","expires_at":"2020-01-01T00:00:00Z"}"#));
    assert_eq!(
        (past.status, past.body["field"].as_str()),
        (400, Some("expires_at"))
    );
    let what_if = world.ok(
        "POST",
        "/v1/me/what-if",
        &alice,
        Some(json!({"scenarios": [{"type": "on_time_months", "months": 6}]})),
    );
    assert!(
        what_if["projected_score"].as_i64() >= what_if["current_score"].as_i64(),
        "{what_if}"
    );
}

#[test]
fn a_revocation_racing_many_checks_is_in_force_for_the_next_one() {
    let world = World::start();
    let alice = world.token("alice");
    for round in 0..5 {
        grant(&world, &alice, "bikes", "eligibility");
        let pseudonym = world.pseudonym(&world.bikes)[0].clone();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            for thread in 0..4 {
                let (world, pseudonym, stop) = (&world, &pseudonym, &stop);
                scope.spawn(move || {
                    let mut n = 0;
                    while !stop.load(Ordering::SeqCst) {
                        check(
                            world,
                            &world.bikes,
                            pseudonym,
                            "ride",
                            &format!("race-{round}-{thread}-{n}"),
                        );
                        n += 1;
                    }
                });
            }
            std::thread::sleep(std::time::Duration::from_millis(30));
            world.ok("DELETE", "/v1/me/consents/bikes", &alice, None);
            let after = check(
                &world,
                &world.bikes,
                &pseudonym,
                "ride",
                &format!("after-{round}"),
            );
            assert_eq!(
                after.body["code"], "consent_required",
                "round {round}: {}",
                after.body
            );
            stop.store(true, Ordering::SeqCst);
        });
    }
}

/// Every string a report gives for `key`, at any depth.
fn strings_at(value: &Value, key: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == key
                    && let Some(text) = v.as_str()
                {
                    out.push(text.to_string());
                }
                strings_at(v, key, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| strings_at(v, key, out)),
        _ => {}
    }
}

#[test]
fn an_eligibility_consent_reveals_no_more_than_the_thresholds_it_was_granted_with() {
    let world = World::start();
    let alice = world.token("alice");
    grant(&world, &alice, "bikes", "eligibility");
    let pseudonym = world.pseudonym(&world.bikes)[0].clone();
    let first = check(&world, &world.bikes, &pseudonym, "ride", "t-0");
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["eligible"], true, "ride is at 350");
    // A partner binary-searching the score by moving a perk's threshold
    // learns nothing: the consent answers by the rule the subject saw.
    let (mut low, mut high) = (350, 950);
    for step in 0..10 {
        let middle = (low + high) / 2;
        world.ok(
            "POST",
            "/v1/partner/perks",
            &world.bikes,
            Some(json!({"id": "ride", "partner_id": "bikes", "name": "Deposit-free ride", "min_score": middle, "dimension_minimums": {"history": 90}})),
        );
        let answer = check(
            &world,
            &world.bikes,
            &pseudonym,
            "ride",
            &format!("t-{}", step + 1),
        );
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(
            answer.body["eligible"], first.body["eligible"],
            "an edited threshold ({middle}) must not change the answer"
        );
        if answer.body["eligible"] == true {
            low = middle;
        } else {
            high = middle;
        }
    }
    // A perk created after the grant is not covered at all.
    world.ok(
        "POST",
        "/v1/partner/perks",
        &world.bikes,
        Some(json!({"id": "probe", "partner_id": "bikes", "name": "Probe", "min_score": 640})),
    );
    let probe = check(&world, &world.bikes, &pseudonym, "probe", "t-probe");
    assert_eq!(probe.status, 403, "{}", probe.body);
    assert_eq!(probe.body["code"], "consent_required");
    // The subject sees which perks their consent covers; a new grant
    // covers the perks offered now, each by its current rule.
    let consents = world.ok("GET", "/v1/me/consents", &alice, None);
    assert!(consents.to_string().contains("\"ride\""), "{consents}");
    assert!(!consents.to_string().contains("\"probe\""), "{consents}");
    world.ok(
        "POST",
        "/v1/me/consents",
        &alice,
        Some(json!({"partner_id": "bikes", "scope": "eligibility", "purpose": "rental", "expires_at": "2027-06-01T00:00:00Z", "perk_ids": ["probe"]})),
    );
    assert_eq!(
        check(&world, &world.bikes, &pseudonym, "probe", "t-probe-2").status,
        200
    );
    let ride = check(&world, &world.bikes, &pseudonym, "ride", "t-ride-2");
    assert_eq!(ride.status, 403, "only the named perk: {}", ride.body);
}

#[test]
fn two_partners_reports_of_one_subject_share_no_identifier() {
    let world = World::start();
    let alice = world.token("alice");
    world.ingest_ok(&[late_payment("alice", "alice-late-1")]);
    grant(&world, &alice, "bikes", "full_report");
    grant(&world, &alice, "hotel", "full_report");
    let report = |key: &str, transaction: &str| {
        let pseudonym = world.pseudonym(key)[0].clone();
        world.ok(
            "POST",
            "/v1/partner/report",
            key,
            Some(json!({"pseudonym": pseudonym, "transaction_id": transaction})),
        )
    };
    let bikes = report(&world.bikes, "r-1");
    let hotel = report(&world.hotel, "r-1");
    assert!(
        !bikes["negative_records"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "the late payment is on the report: {bikes}"
    );
    let identifiers = |report: &Value| {
        let mut out = Vec::new();
        for key in [
            "subject_id",
            "furnisher_id",
            "event_id",
            "account_id",
            "pseudonym",
        ] {
            strings_at(report, key, &mut out);
        }
        out
    };
    let (for_bikes, for_hotel) = (identifiers(&bikes), identifiers(&hotel));
    assert!(!for_bikes.is_empty());
    for id in &for_bikes {
        assert!(!for_hotel.contains(id), "both partners see {id:?}");
    }
    for report in [&bikes, &hotel] {
        let text = report.to_string();
        for raw in ["alice", "alice-late-1", "\"bank\"", "account loan "] {
            assert!(!text.contains(raw), "{raw} reaches a partner: {text}");
        }
    }
    // One partner's reports stay consistent with each other.
    assert_eq!(identifiers(&report(&world.bikes, "r-2")), for_bikes);
}

#[test]
fn a_dispute_of_a_late_but_paid_bill_takes_the_whole_record_out_at_once() {
    let world = World::start();
    let alice = world.token("alice");
    let clean = world.score(&alice).unwrap_or_else(|| panic!("scored"));
    world.ingest_ok(&[
        json!({"event_id": "late-bill", "subject_id": "alice", "kind": "bill_due", "occurred_at": date(50), "account_id": "loan", "bill_id": "b-late", "amount": 20000, "currency": "EUR"}),
        json!({"event_id": "late-pay", "subject_id": "alice", "kind": "payment_made", "occurred_at": date(5), "account_id": "loan", "bill_id": "b-late", "amount": 20000, "currency": "EUR", "days_late": 45}),
    ]);
    let hurt = world.score(&alice).unwrap_or_default();
    assert!(hurt < clean, "the late payment counts: {hurt} vs {clean}");
    let view = world.ok("GET", "/v1/me", &alice, None);
    let records = view["report"]["negative_records"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(records.len(), 1, "{records:?}");
    // The record as shown names the bill; disputing it takes the lateness
    // (carried by the payment) out too, at once.
    let named = records[0]["event"]["event_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(named, "late-bill");
    world.ok(
        "POST",
        "/v1/me/disputes",
        &alice,
        Some(json!({"furnisher_id": "bank", "event_id": named, "reason": "paid on time"})),
    );
    assert_eq!(
        world.score(&alice),
        Some(clean),
        "the score is back at once"
    );
    let view = world.ok("GET", "/v1/me", &alice, None);
    assert_eq!(
        view["report"]["negative_records"],
        json!([]),
        "the record does not come back naming the payment"
    );
    // A second dispute of the same record (by its other event) is a
    // conflict, not a second exclusion.
    let again = world.call(
        "POST",
        "/v1/me/disputes",
        Some(&alice),
        Some(
            &json!({"furnisher_id": "bank", "event_id": "late-pay", "reason": "again"}).to_string(),
        ),
    );
    assert_eq!(again.status, 409, "{}", again.body);
}

#[test]
fn restricted_data_needs_the_stored_consent_never_a_batchs_claim() {
    let world = World::start();
    let alice = world.token("alice");
    let before = world.score(&alice);
    let income = json!({"event_id": "alice-income", "subject_id": "alice", "kind": "income_reported", "occurred_at": date(3), "amount": 900000, "currency": "EUR"});
    let claim = json!({"event_id": "alice-reenrol", "subject_id": "alice", "kind": "subject_enrolled", "occurred_at": date(4), "subject_kind": "person", "restricted_data_consent": true});
    let reply = world.ingest(&world.bank, &[claim.clone(), income.clone()]);
    assert_eq!(reply.status, 422, "{}", reply.body);
    let codes: Vec<&str> = reply.body["problems"]
        .as_array()
        .map(|p| p.iter().filter_map(|p| p["code"].as_str()).collect())
        .unwrap_or_default();
    assert!(codes.contains(&"consent_not_by_event"), "{codes:?}");
    assert!(codes.contains(&"restricted_without_consent"), "{codes:?}");
    // Income alone is refused too, and nothing moved.
    assert_eq!(world.ingest(&world.bank, &[income]).status, 422);
    assert_eq!(world.score(&alice), before);
}

/// One API, one spelling: a band is the same word in the subject's view,
/// the history, the what-if and the partner's answer; the history names
/// its dimensions.
#[test]
fn a_band_is_spelt_one_way_on_every_endpoint() {
    let world = World::start();
    let alice = world.token("alice");
    grant(&world, &alice, "hotel", "score");
    let pseudonym = world.pseudonym(&world.hotel)[0].clone();
    let mine = world.ok("GET", "/v1/me", &alice, None)["report"]["band"].clone();
    let partner = world.ok(
        "POST",
        "/v1/partner/score",
        &world.hotel,
        Some(json!({"pseudonym": pseudonym, "transaction_id": "t1"})),
    )["band"]
        .clone();
    let history = world.ok("GET", "/v1/me/history", &alice, None);
    let today = history
        .as_array()
        .and_then(|h| h.last())
        .cloned()
        .unwrap_or_default();
    // A one-month what-if of a file paid on time keeps the band.
    let what_if = world.ok(
        "POST",
        "/v1/me/what-if",
        &alice,
        Some(json!({"scenarios": [{"type": "on_time_months", "months": 1}]})),
    );
    let spelt = mine.as_str().unwrap_or_default();
    assert!(
        ["poor", "fair", "good", "very_good", "excellent"].contains(&spelt),
        "{mine}"
    );
    assert_eq!(partner, mine);
    assert_eq!(today["band"], mine, "{today}");
    assert_eq!(today["status"], "scored", "{today}");
    let dimensions = today["dimensions"]
        .as_object()
        .map(|d| d.keys().cloned().collect::<Vec<_>>())
        .unwrap_or_default();
    assert_eq!(
        dimensions,
        ["behaviour", "capacity", "fulfilment", "history", "identity"]
    );
    let projected = what_if["projected_band"].as_str().unwrap_or_default();
    assert!(
        ["poor", "fair", "good", "very_good", "excellent"].contains(&projected),
        "{what_if}"
    );
}

/// A refused body names the field by its path in the body, never by a
/// value the caller sent, and a whole-record problem names no field.
#[test]
fn a_refused_body_names_the_field_by_its_path() {
    let world = World::start();
    let alice = world.token("alice");
    let what_if = |body: Value| {
        world.call(
            "POST",
            "/v1/me/what-if",
            Some(&alice),
            Some(&body.to_string()),
        )
    };
    for (body, field) in [
        (
            json!({"scenarios": [{"type": "on_time_months", "months": 2}, {"type": "win_the_lottery"}]}),
            "scenarios[1].type",
        ),
        (
            // serde reads a tagged scenario whole, so the path stops at it.
            json!({"scenarios": [{"type": "on_time_months", "months": "six"}]}),
            "scenarios[0]",
        ),
        (
            json!({"scenarios": [{"type": "on_time_months", "months": 2}, {"type": "on_time_months", "months": 99}]}),
            "scenarios[1].months",
        ),
        (
            json!({"scenarios": [{"type": "pay_down", "account_id": "nope", "balance": 0}]}),
            "scenarios[0].account_id",
        ),
    ] {
        let reply = what_if(body.clone());
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert_eq!(reply.body["field"], field, "{body}: {}", reply.body);
    }
    let batch = world.ingest(&world.bank, &[json!("not an object")]);
    assert_eq!(batch.status, 422, "{}", batch.body);
    let problem = &batch.body["problems"][0];
    assert!(problem.get("field").is_none(), "{problem}");
}

/// The restricted-data consent is the subject's own act (or the operator's
/// on their behalf, stating how): audited, shown in the subject's access
/// log, and in force at once both ways. A withdrawal takes every such
/// record out of the score, whatever is stored, and refuses new ones.
#[test]
fn the_restricted_data_consent_is_given_and_withdrawn_by_the_subject_at_once() {
    let world = World::start();
    // The organisation model weighs reported income (the person model does
    // not), so an organisation shows whether it counts.
    world.ok(
        "POST",
        "/v1/operator/subjects",
        &world.operator,
        Some(json!({"subject_id": "acme", "kind": "organisation"})),
    );
    world.ingest_ok(&history("acme"));
    let alice = world.token("acme");
    let report = |token: &str| world.ok("GET", "/v1/me", token, None);
    let before = report(&alice);
    assert_eq!(before["restricted_data_consent"], false);
    // A monthly income far below the bills: it lowers the capacity score.
    let income = |id: &str| json!({"event_id": id, "subject_id": "acme", "kind": "income_reported", "occurred_at": date(3), "amount": 100, "currency": "EUR"});
    let refused = world.ingest(&world.bank, &[income("income-1")]);
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        refused.body["problems"][0]["code"],
        "restricted_without_consent"
    );

    let given = world.ok("POST", "/v1/me/restricted-data-consent", &alice, None);
    assert_eq!(given, json!({"given": true}));
    world.ingest_ok(&[income("income-1")]);
    let with_income = report(&alice);
    assert_eq!(with_income["restricted_data_consent"], true);
    assert_ne!(
        with_income["report"]["dimensions"], before["report"]["dimensions"],
        "the income counts once consented"
    );

    let withdrawn = world.ok("DELETE", "/v1/me/restricted-data-consent", &alice, None);
    assert_eq!(withdrawn, json!({"given": false}));
    let after = report(&alice);
    assert_eq!(after["restricted_data_consent"], false);
    assert_eq!(
        (&after["report"]["score"], &after["report"]["dimensions"]),
        (&before["report"]["score"], &before["report"]["dimensions"]),
        "the stored income no longer counts, at once"
    );
    let again = world.ingest(&world.bank, &[income("income-2")]);
    assert_eq!(again.status, 422, "{}", again.body);

    // The operator, on the subject's behalf, must say how it was given.
    let vague = world.call(
        "POST",
        "/v1/operator/subjects/acme/restricted-data-consent",
        Some(&world.operator),
        Some(&json!({"given": true, "on_behalf": "ok"}).to_string()),
    );
    assert_eq!(
        (vague.status, vague.body["field"].as_str()),
        (400, Some("on_behalf"))
    );
    let recorded = world.ok(
        "POST",
        "/v1/operator/subjects/acme/restricted-data-consent",
        &world.operator,
        Some(json!({"given": true, "on_behalf": "signed form at the branch, 2026-10-30"})),
    );
    assert_eq!(recorded, json!({"given": true}));
    assert_ne!(
        report(&alice)["report"]["dimensions"],
        before["report"]["dimensions"],
        "the stored income counts again"
    );
    let nobody = world.call(
        "POST",
        "/v1/operator/subjects/nobody/restricted-data-consent",
        Some(&world.operator),
        Some(&json!({"given": true, "on_behalf": "signed form at the branch"}).to_string()),
    );
    assert_eq!(nobody.status, 404, "{}", nobody.body);

    let log = world
        .ok("GET", "/v1/me/access-log", &alice, None)
        .to_string();
    for expected in [
        "restricted_consent.give",
        "restricted_consent.withdraw",
        "signed form at the branch, 2026-10-30",
    ] {
        assert!(log.contains(expected), "{expected} missing from {log}");
    }
    assert_eq!(
        world.ok("GET", "/v1/operator/audit/verify", &world.operator, None)["intact"],
        true
    );
}

/// The published contract does not change by accident: `/openapi.json`
/// equals the checked-in copy. After a deliberate change, refresh it with
/// `CREDENCE_BLESS=1 cargo test -p credence-server --test api openapi`.
#[test]
fn the_openapi_document_matches_its_checked_in_copy() {
    let world = World::start();
    let served = world.call("GET", "/openapi.json", None, None).body;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openapi.json");
    if std::env::var_os("CREDENCE_BLESS").is_some() {
        let text = serde_json::to_string_pretty(&served).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, text + "\n").unwrap_or_else(|e| panic!("{e}"));
    }
    let kept: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    if served != kept {
        let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
        let (served, kept) = (pretty(&served), pretty(&kept));
        let (line, (now, then)) = served
            .lines()
            .zip(kept.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .unwrap_or((0, ("(one is a prefix of the other)", "")));
        panic!(
            "/openapi.json differs from tests/openapi.json at line {}:\nserved: {now}\nkept:   {then}\n(refresh with CREDENCE_BLESS=1 if the change is meant)",
            line + 1
        );
    }
}

/// One ingest pipeline: a batch refused over HTTP is refused the same way,
/// record for record, when the same furnisher's file is imported.
#[test]
fn a_batch_refused_over_http_is_refused_the_same_way_from_a_file() {
    use credence_service::import::{ImportOptions, import_file};
    use credence_service::{Furnishing, Ingestor};
    let world = World::start();
    let mut own = json!({"event_id": "own", "subject_id": "alice", "kind": "bill_due", "occurred_at": date(9), "account_id": "a", "bill_id": "b1", "amount": 100, "currency": "EUR"});
    own["furnisher_id"] = json!("bank");
    let batch = vec![
        json!({"event_id": "v1", "subject_id": "alice", "kind": "identity_verified", "occurred_at": date(9), "level": "strong"}),
        json!({"event_id": "p1", "subject_id": "alice", "kind": "payment_made", "occurred_at": date(9), "account_id": "a", "amount": "lots", "currency": "EUR", "days_late": 0}),
        json!({"event_id": "e1", "subject_id": "carol", "kind": "subject_enrolled", "occurred_at": date(9), "subject_kind": "person", "restricted_data_consent": true}),
        own,
        json!({"event_id": "i1", "subject_id": "alice", "kind": "income_reported", "occurred_at": date(9), "amount": 5000, "currency": "EUR"}),
        json!({"event_id": "ok", "subject_id": "alice", "kind": "bill_due", "occurred_at": date(9), "account_id": "a", "bill_id": "b2", "amount": 100, "currency": "EUR"}),
    ];
    let reply = world.ingest(&world.other_bank, &batch);
    assert_eq!(reply.status, 422, "{}", reply.body);
    let over_http: Vec<(u64, String, String)> = reply.body["problems"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["index"].as_u64().unwrap_or(u64::MAX),
                p["field"].as_str().unwrap_or("").to_string(),
                p["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let codes: Vec<&str> = over_http.iter().map(|(_, _, c)| c.as_str()).collect();
    for expected in [
        "kind_not_allowed",
        "wrong_type",
        "consent_not_by_event",
        "furnisher_mismatch",
    ] {
        assert!(codes.contains(&expected), "{expected}: {over_http:?}");
    }

    let path = world._dir.path().join("batch.jsonl");
    let lines: Vec<String> = batch.iter().map(Value::to_string).collect();
    std::fs::write(&path, lines.join("\n")).unwrap_or_else(|e| panic!("{e}"));
    let opened = world.db.open();
    let store = opened.as_ref();
    let furnisher =
        credence_domain::FurnisherId::new("other-bank").unwrap_or_else(|e| panic!("{e}"));
    let furnishing = Furnishing::registered(store, &furnisher)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("other-bank is registered"));
    let ingestor = Ingestor::new(&Config::default()).unwrap_or_else(|e| panic!("{e}"));
    let refused = import_file(
        store,
        &ingestor,
        &path,
        &ImportOptions {
            furnishing,
            ..ImportOptions::default()
        },
        world.clock.now(),
        &mut |_| {},
    );
    let Err(credence_service::Error::BadRecords { errors, .. }) = refused else {
        panic!("the file is refused whole: {refused:?}")
    };
    let from_file: Vec<(u64, String, String)> = errors
        .iter()
        .map(|e| {
            (
                e.line - 1,
                e.field.clone().unwrap_or_default(),
                e.code.clone(),
            )
        })
        .collect();
    assert_eq!(from_file, over_http, "the same records, fields and codes");
}

/// A small filesystem of its own (tmpfs), unmounted when dropped: for
/// what happens when the database's disk fills up.
struct SmallDisk(PathBuf);

impl SmallDisk {
    /// Mounts `size` (such as `8m`) at `at`, or `None` where this process
    /// may not mount (not root, or a container without the right).
    fn mount(at: &Path, size: &str) -> Option<Self> {
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .is_ok_and(|o| o.status.success());
        mounted.then(|| Self(at.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Writes to `path` until the filesystem under it is full.
fn fill_up(path: &Path) {
    use std::io::Write;
    let mut filler = std::fs::File::create(path).unwrap_or_else(|e| panic!("{e}"));
    let block = vec![0xa5_u8; 64 * 1024];
    while filler
        .write_all(&block)
        .and_then(|()| filler.sync_all())
        .is_ok()
    {}
    // The last, partial block too.
    while filler
        .write_all(&block[..512])
        .and_then(|()| filler.sync_all())
        .is_ok()
    {}
}

#[test]
fn a_full_disk_answers_503_unavailable_and_recovers_by_itself() {
    if std::env::var("CREDENCE_TEST_BACKEND").as_deref() == Ok("postgres") {
        return; // the disk is PostgreSQL's own (the outage test covers it)
    }
    let outer = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mount_point = outer.path().join("disk");
    std::fs::create_dir(&mount_point).unwrap_or_else(|e| panic!("{e}"));
    let Some(disk) = SmallDisk::mount(&mount_point, "12m") else {
        eprintln!("skipped: cannot mount a small tmpfs here (needs root; CI runs as root)");
        return;
    };
    let dir = tempfile::tempdir_in(&mount_point).unwrap_or_else(|e| panic!("{e}"));
    let world = World::start_at(dir, Limits::default());
    let alice = world.token("alice");
    grant(&world, &alice, "bikes", "eligibility");
    world.ingest_ok(&[late_payment("alice", "before-full")]);
    fill_up(&mount_point.join("filler"));
    // Ingest until a write needs space the disk does not have: every
    // answer is a success or 503 `unavailable`, never a 500.
    let mut refused = None;
    for n in 0..2_000 {
        let batch: Vec<Value> = (0..50)
            .map(|i| late_payment("alice", &format!("full-{n}-{i}")))
            .collect();
        let reply = world.ingest(&world.bank, &batch);
        match reply.status {
            200 => continue,
            503 => {
                eprintln!("refused at batch {n}: {}", reply.body);
                refused = Some(reply.body);
                break;
            }
            other => panic!("batch {n} on a full disk answered {other}: {}", reply.body),
        }
    }
    let refused = refused.unwrap_or_else(|| panic!("the disk never filled"));
    assert_eq!(refused["code"], "unavailable", "{refused}");
    // A partner's check needs its audit entry written: refused the same
    // way, and reads go on.
    let pseudonym = world.pseudonym(&world.bikes.clone())[0].clone();
    let check = check(&world, &world.bikes, &pseudonym, "ride", "t-full");
    assert!(
        matches!(check.status, 200 | 503),
        "{}: {}",
        check.status,
        check.body
    );
    assert_eq!(world.call("GET", "/healthz", None, None).status, 200);
    // Space comes back: the same server writes again by itself.
    std::fs::remove_file(mount_point.join("filler")).unwrap_or_else(|e| panic!("{e}"));
    let mut recovered = false;
    for _ in 0..50 {
        if world
            .ingest(&world.bank, &[late_payment("alice", "after-full")])
            .status
            == 200
        {
            recovered = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        recovered,
        "the server did not write again once space was back"
    );
    let verdict = world.ok(
        "GET",
        "/v1/operator/audit/verify",
        &world.operator.clone(),
        None,
    );
    assert_eq!(verdict["intact"], true, "{verdict}");
    // Full again, and the server restarted while it is: it starts, answers
    // writes 503, and writes once space is back.
    let mut world = world;
    fill_up(&mount_point.join("filler"));
    world.restart();
    let reply = world.ingest(&world.bank, &[late_payment("alice", "restarted-full")]);
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (503, Some("unavailable")),
        "{}",
        reply.body
    );
    std::fs::remove_file(mount_point.join("filler")).unwrap_or_else(|e| panic!("{e}"));
    let reply = world.ingest(&world.bank, &[late_payment("alice", "restarted-full")]);
    assert_eq!(reply.status, 200, "{}", reply.body);
    drop(world);
    drop(disk);
}
