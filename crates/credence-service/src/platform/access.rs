//! Who is asking: API keys for operators, furnishers and partners, and
//! short-lived signed tokens for subjects.
//!
//! A key is `crd_<key id>_<secret>`; only SHA-256 of the secret is stored
//! (the secret is 32 random bytes, so a slow password hash would add
//! nothing). Subject tokens are `st1.<hex subject id>.<expiry>.<signature>`
//! signed with HMAC-SHA-256 under a secret the store keeps; Credence never
//! holds a subject's password: the operator's own login issues tokens.

use super::records::{Records, kind};
use super::{ApiError, ApiResult, Code};
use credence_domain::SubjectId;
use credence_store::{Record, Store};
use hmac::{KeyInit, Mac};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

type HmacSha256 = hmac::Hmac<Sha256>;

/// The role an API key acts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the platform.
    Operator,
    /// Reports events.
    Furnisher,
    /// Asks with consent; offers perks.
    Partner,
}

impl Role {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Furnisher => "furnisher",
            Self::Partner => "partner",
        }
    }

    /// Parses a role name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "operator" => Some(Self::Operator),
            "furnisher" => Some(Self::Furnisher),
            "partner" => Some(Self::Partner),
            _ => None,
        }
    }
}

/// A stored API key (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Public id, the part after `crd_`.
    pub id: String,
    /// The role it acts in.
    pub role: Role,
    /// The furnisher or partner it acts for (`operator` for operators).
    pub principal: String,
    /// A note on who holds it.
    pub label: String,
    /// When created.
    pub created_at: Timestamp,
    /// When revoked; a revoked key is refused at once.
    pub revoked_at: Option<Timestamp>,
    /// SHA-256 of the secret part, hex.
    #[serde(default)]
    pub secret_sha256: String,
}

/// A newly created key: the only time the secret is shown.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedKey {
    /// The key to hand over; it cannot be shown again.
    pub key: String,
    /// What was stored.
    pub record: ApiKey,
}

/// Who an authenticated request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An operator, by key id.
    Operator {
        /// The key used.
        key_id: String,
    },
    /// A furnisher.
    Furnisher {
        /// The furnisher.
        id: String,
        /// The key used.
        key_id: String,
    },
    /// A partner.
    Partner {
        /// The partner.
        id: String,
        /// The key used.
        key_id: String,
    },
    /// A subject, by signed token.
    Subject {
        /// The subject.
        id: SubjectId,
    },
    /// A command run by whoever holds the database file (`credence keys`,
    /// the demo's set-up). It acts as an operator, with no key, and the
    /// audit log names it `system:NAME`; it is never the result of
    /// authenticating a request.
    System {
        /// What acts: `cli`, `demo`…
        name: &'static str,
    },
}

impl Principal {
    /// How the audit log names this actor.
    pub fn actor(&self) -> String {
        match self {
            Self::Operator { key_id } => format!("operator:{key_id}"),
            Self::Furnisher { id, .. } => format!("furnisher:{id}"),
            Self::Partner { id, .. } => format!("partner:{id}"),
            Self::Subject { .. } => "subject".to_string(),
            Self::System { name } => format!("system:{name}"),
        }
    }
}

/// The callers an endpoint serves. An endpoint that reads a request body
/// admits its audience before it reads the body: a caller in the wrong
/// role gets 403 whatever it sent, and learns nothing of what the body
/// should hold (nor, for a dispute, whether it exists). The operations
/// still check the role themselves; this only moves the refusal first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Operator keys.
    Operators,
    /// Furnisher keys.
    Furnishers,
    /// Partner keys.
    Partners,
    /// Subject tokens.
    Subjects,
    /// Furnisher or operator keys (answering a dispute).
    FurnishersAndOperators,
}

impl Audience {
    /// Ok when `principal` is one of this audience; otherwise the same
    /// refusal the operation itself would give.
    pub fn admit(self, principal: &Principal) -> ApiResult<()> {
        let admitted = matches!(
            (self, principal),
            (
                Self::Operators,
                Principal::Operator { .. } | Principal::System { .. }
            ) | (Self::Furnishers, Principal::Furnisher { .. })
                | (Self::Partners, Principal::Partner { .. })
                | (Self::Subjects, Principal::Subject { .. })
                | (
                    Self::FurnishersAndOperators,
                    Principal::Furnisher { .. }
                        | Principal::Operator { .. }
                        | Principal::System { .. }
                )
        );
        if admitted {
            Ok(())
        } else {
            Err(self.refusal())
        }
    }

    /// What a caller outside this audience is told.
    pub fn refusal(self) -> ApiError {
        let who = match self {
            Self::Operators => "only operators may use this endpoint (with an operator API key)",
            Self::Furnishers => "only furnishers may use this endpoint (with a furnisher API key)",
            Self::Partners => "only partners may use this endpoint (with a partner API key)",
            Self::Subjects => "only the subject may use this endpoint (with a subject token)",
            Self::FurnishersAndOperators => {
                "only the furnisher of the record or an operator may use this endpoint"
            }
        };
        ApiError::new(Code::Forbidden, who)
    }
}

/// Random bytes from the operating system.
pub(crate) fn random_bytes<const N: usize>() -> ApiResult<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::internal(format!("no randomness: {e}")))?;
    Ok(bytes)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    hex::decode(text).ok()
}

/// Equality whose time does not depend on where the inputs differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// HMAC-SHA-256 under `key` of `parts`, each followed by a zero byte (so
/// no two different lists of parts sign alike).
pub(crate) fn hmac_sha256(key: &[u8; 32], parts: &[&str]) -> Vec<u8> {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| {
        // HMAC accepts keys of any length; this cannot happen.
        unreachable!("HMAC key length")
    });
    for part in parts {
        mac.update(part.as_bytes());
        mac.update(&[0]);
    }
    mac.finalize().into_bytes().to_vec()
}

/// The stored secret that signs audit checkpoints where no key outside
/// the database is given.
const CHECKPOINT_SECRET: &str = "audit_checkpoints";

/// The platform's secrets, created on first start and kept in the store.
#[derive(Clone)]
pub(crate) struct Secrets {
    token: [u8; 32],
    pseudonym: [u8; 32],
    subject_ref: [u8; 32],
    checkpoint: [u8; 32],
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

impl Secrets {
    pub fn load_or_create(store: &dyn Store) -> ApiResult<Self> {
        let one = |name: &str| -> ApiResult<[u8; 32]> {
            let fresh = Record {
                kind: kind::SECRET,
                id: name.to_string(),
                subject: None,
                owner: None,
                body: serde_json::to_string(&hex(&random_bytes::<32>()?))
                    .map_err(ApiError::internal)?,
            };
            // First writer wins, so two processes starting together agree.
            let stored = store.insert_record_once(&fresh)?.unwrap_or(fresh);
            let text: String = super::records::decode(&stored)?;
            unhex(&text)
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| ApiError::internal(format!("stored secret {name} is malformed")))
        };
        Ok(Self {
            token: one("subject_tokens")?,
            pseudonym: one("partner_pseudonyms")?,
            subject_ref: one("audit_subject_refs")?,
            checkpoint: one(CHECKPOINT_SECRET)?,
        })
    }

    /// The key the database keeps for signing audit checkpoints, read
    /// without creating it (for checking the log from outside a platform).
    pub fn stored_checkpoint_key(store: &dyn Store) -> ApiResult<Option<[u8; 32]>> {
        let Some(stored) = store.record(kind::SECRET, CHECKPOINT_SECRET)? else {
            return Ok(None);
        };
        let text: String = super::records::decode(&stored)?;
        unhex(&text)
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .map(Some)
            .ok_or_else(|| ApiError::internal("the stored checkpoint key is malformed"))
    }

    /// The database's own key for signing audit checkpoints.
    pub fn checkpoint_key(&self) -> [u8; 32] {
        self.checkpoint
    }

    fn mac(key: &[u8; 32], parts: &[&str]) -> Vec<u8> {
        hmac_sha256(key, parts)
    }

    /// The subject as one partner knows them: stable for that partner,
    /// unlinkable across partners.
    pub fn pseudonym(&self, partner: &str, subject: &SubjectId) -> String {
        format!(
            "ps_{}",
            &hex(&Self::mac(&self.pseudonym, &[partner, subject.as_str()]))[..32]
        )
    }

    /// Any other identifier (a furnisher's, an event's, an account's) as
    /// one partner sees it: `prefix` and a keyed hash of the partner, the
    /// kind of identifier and its value. Stable for that partner (two
    /// reports name the same account alike), unlinkable across partners,
    /// so no two partners' payloads share an identifier they could join on.
    pub fn partner_ref(&self, partner: &str, prefix: &str, raw: &str) -> String {
        format!(
            "{prefix}_{}",
            &hex(&Self::mac(&self.pseudonym, &["ref", partner, prefix, raw]))[..24]
        )
    }

    /// The keyed hash that names a subject in the audit log and tombstone.
    pub fn subject_ref(&self, subject: &SubjectId) -> String {
        format!(
            "sr_{}",
            &hex(&Self::mac(&self.subject_ref, &[subject.as_str()]))[..32]
        )
    }

    /// A token for `subject` valid until `expires_at`.
    pub fn subject_token(&self, subject: &SubjectId, expires_at: Timestamp) -> String {
        let id = hex(subject.as_str().as_bytes());
        let expiry = expires_at.as_second().to_string();
        let signature = hex(&Self::mac(&self.token, &["st1", &id, &expiry]));
        format!("st1.{id}.{expiry}.{signature}")
    }

    /// The subject a token names, if it is genuine and unexpired.
    pub fn verify_subject_token(&self, token: &str, now: Timestamp) -> ApiResult<SubjectId> {
        let bad = || {
            ApiError::new(
                Code::Unauthenticated,
                "the subject token is malformed or its signature is wrong; ask the operator's app for a new one",
            )
        };
        let mut parts = token.split('.');
        let (Some("st1"), Some(id), Some(expiry), Some(signature), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        let expected = Self::mac(&self.token, &["st1", id, expiry]);
        let given = unhex(signature).ok_or_else(bad)?;
        if !constant_time_eq(&expected, &given) {
            return Err(bad());
        }
        let expiry: i64 = expiry.parse().map_err(|_| bad())?;
        if now.as_second() >= expiry {
            return Err(ApiError::new(
                Code::Unauthenticated,
                "the subject token has expired; sign in again to get a new one",
            ));
        }
        let id = unhex(id)
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(bad)?;
        SubjectId::new(&id).map_err(|_| bad())
    }
}

/// Creates a key record and the key string to hand over.
pub(crate) fn new_key(
    role: Role,
    principal: &str,
    label: &str,
    now: Timestamp,
) -> ApiResult<IssuedKey> {
    let id = hex(&random_bytes::<6>()?);
    let secret = hex(&random_bytes::<32>()?);
    let record = ApiKey {
        id: id.clone(),
        role,
        principal: principal.to_string(),
        label: label.to_string(),
        created_at: now,
        revoked_at: None,
        secret_sha256: sha256_hex(secret.as_bytes()),
    };
    Ok(IssuedKey {
        key: format!("crd_{id}_{secret}"),
        record,
    })
}

/// Checks a presented key against the stored record; `lookup` finds a key
/// record by id.
pub(crate) fn check_key(
    presented: &str,
    lookup: impl FnOnce(&str) -> ApiResult<Option<ApiKey>>,
) -> ApiResult<ApiKey> {
    let unknown = || {
        ApiError::new(
            Code::Unauthenticated,
            "unknown or revoked API key; ask the operator for a valid one (keys look like crd_…)",
        )
    };
    let rest = presented.strip_prefix("crd_").ok_or_else(unknown)?;
    let (id, secret) = rest.split_once('_').ok_or_else(unknown)?;
    let key = lookup(id)?.ok_or_else(unknown)?;
    if key.revoked_at.is_some()
        || !constant_time_eq(
            sha256_hex(secret.as_bytes()).as_bytes(),
            key.secret_sha256.as_bytes(),
        )
    {
        return Err(unknown());
    }
    Ok(key)
}

/// Storing a key record, as a change that commits with its audit entry.
pub(crate) fn key_write(key: &ApiKey) -> ApiResult<credence_store::RecordWrite> {
    let owner = (key.role != Role::Operator).then_some(key.principal.as_str());
    Records::put_write(kind::API_KEY, key.id.clone(), None, owner, key)
}

/// Operators only (and the system principal, which acts as one).
pub(super) fn operator_only(principal: &Principal) -> ApiResult<()> {
    Audience::Operators.admit(principal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        Secrets {
            token: [1; 32],
            pseudonym: [2; 32],
            subject_ref: [3; 32],
            checkpoint: [4; 32],
        }
    }

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn tokens_verify_until_they_expire_and_not_when_altered() {
        let s = secrets();
        let alice = SubjectId::new("alice").unwrap_or_else(|e| panic!("{e}"));
        let token = s.subject_token(&alice, at(1_000));
        assert_eq!(
            s.verify_subject_token(&token, at(999)).ok(),
            Some(alice.clone())
        );
        assert_eq!(
            s.verify_subject_token(&token, at(1_000))
                .map_err(|e| e.code),
            Err(Code::Unauthenticated)
        );
        // Swapping the subject or stretching the expiry breaks the signature.
        let bob = hex(b"bob");
        let forged = token.replacen(&hex(b"alice"), &bob, 1);
        assert!(s.verify_subject_token(&forged, at(10)).is_err());
        let stretched = token.replacen(".1000.", ".9999.", 1);
        assert!(s.verify_subject_token(&stretched, at(10)).is_err());
        for junk in [
            "",
            "st1",
            "st1.zz.1.aa",
            "st1.61.1.00.extra",
            "xx.61.1000.00",
        ] {
            assert!(s.verify_subject_token(junk, at(10)).is_err(), "{junk}");
        }
    }

    #[test]
    fn pseudonyms_differ_by_partner_and_are_stable() {
        let s = secrets();
        let alice = SubjectId::new("alice").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.pseudonym("bikes", &alice), s.pseudonym("bikes", &alice));
        assert_ne!(s.pseudonym("bikes", &alice), s.pseudonym("hotel", &alice));
        assert!(!s.pseudonym("bikes", &alice).contains("alice"));
    }

    #[test]
    fn keys_check_only_with_the_right_secret() {
        let issued =
            new_key(Role::Partner, "bikes", "test", at(0)).unwrap_or_else(|e| panic!("{e}"));
        let stored = issued.record.clone();
        let found = |id: &str| Ok((id == stored.id).then(|| stored.clone()));
        assert_eq!(check_key(&issued.key, found).ok(), Some(stored.clone()));
        let wrong = format!("{}x", &issued.key[..issued.key.len() - 1]);
        assert!(check_key(&wrong, found).is_err());
        assert!(check_key("crd_nothing", found).is_err());
        let revoked = ApiKey {
            revoked_at: Some(at(1)),
            ..stored.clone()
        };
        assert!(check_key(&issued.key, |_| Ok(Some(revoked.clone()))).is_err());
        assert!(!issued.key.contains(&stored.secret_sha256));
    }
}
