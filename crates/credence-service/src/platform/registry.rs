//! The operator's registry: furnishers and partners, API keys, enrolment
//! and subject tokens. (Models, population statistics, review queues and
//! the audit chain have homes of their own.)

use super::access::operator_only;
use super::access::{self, ApiKey, IssuedKey, Role};
use super::records::{Records, kind};
use super::{ApiError, ApiResult, Code, Furnisher, Partner, Principal};
use credence_domain::build::EventFactory;
use credence_domain::{EventKind, SubjectId, SubjectKind, ValidId};
use credence_store::RecordFilter;
use jiff::ToSpan;
use serde::{Deserialize, Serialize};

/// Register a furnisher.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FurnisherSpec {
    /// Its id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Event kinds it may report: names from the event catalogue
    /// (`account_opened`, `payment_made`…) or the deployed model's custom
    /// kinds.
    pub kinds: Vec<String>,
}

/// Register a partner.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerSpec {
    /// Its id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// Create an API key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// The role it acts in.
    pub role: Role,
    /// The furnisher or partner it acts for (omit for operators); it must
    /// be registered first.
    #[serde(default)]
    pub principal: Option<String>,
    /// Who holds it.
    #[serde(default)]
    pub label: String,
}

/// Enrol a subject (after they consented in the operator's app).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectSpec {
    /// The operator's opaque id for them: never a name or document number.
    pub subject_id: String,
    /// `person` or `organisation`.
    pub kind: SubjectKind,
    /// The separate explicit consent that admits income, assets, deposits
    /// and tax records.
    #[serde(default)]
    pub restricted_data_consent: bool,
}

/// Issue a subject token.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSpec {
    /// Minutes it is valid (default 60, at most a day).
    #[serde(default)]
    pub minutes: Option<i64>,
}

/// A subject token.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedToken {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When it stops working.
    pub expires_at: String,
}

fn check_id(field: &str, id: &str) -> ApiResult<()> {
    ValidId::new(id)
        .map(|_| ())
        .map_err(|e| ApiError::invalid(field, format!("`{field}` {e}")))?;
    if id.contains(super::records::SEP) {
        return Err(ApiError::invalid(
            field,
            format!("`{field}` must not contain `|`"),
        ));
    }
    Ok(())
}

fn check_name(name: &str) -> ApiResult<()> {
    if name.trim().is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid("name", "`name` must be 1–100 characters"));
    }
    Ok(())
}

impl super::Registry<'_> {
    /// Registers or updates a furnisher.
    pub fn put_furnisher(
        &self,
        principal: &Principal,
        spec: &FurnisherSpec,
    ) -> ApiResult<Furnisher> {
        operator_only(principal)?;
        check_id("id", &spec.id)?;
        check_name(&spec.name)?;
        if spec.kinds.is_empty() {
            return Err(ApiError::invalid("kinds", "name at least one event kind"));
        }
        let scorer_catalogue = self.ingestor.catalogue();
        for name in &spec.kinds {
            let known = EventKind::from_name(name).is_some()
                || scorer_catalogue
                    .custom_kinds()
                    .iter()
                    .any(|c| c.name == *name);
            if !known {
                return Err(ApiError::invalid(
                    "kinds",
                    format!("unknown event kind {name:?}; see the catalogue"),
                ));
            }
        }
        let furnisher = Furnisher {
            id: spec.id.clone(),
            name: spec.name.trim().to_string(),
            kinds: spec.kinds.clone(),
            created_at: self.now(),
        };
        self.audit_writing(
            principal,
            "furnisher.put",
            None,
            format!("{} may report {}", spec.id, spec.kinds.join(", ")),
            vec![Records::put_write(
                kind::FURNISHER,
                spec.id.clone(),
                None,
                None,
                &furnisher,
            )?],
        )?;
        Ok(furnisher)
    }

    /// Every furnisher.
    pub fn furnishers(&self, principal: &Principal) -> ApiResult<Vec<Furnisher>> {
        operator_only(principal)?;
        self.records().list(kind::FURNISHER, RecordFilter::All)
    }

    /// Registers or updates a partner.
    pub fn put_partner(&self, principal: &Principal, spec: &PartnerSpec) -> ApiResult<Partner> {
        operator_only(principal)?;
        check_id("id", &spec.id)?;
        check_name(&spec.name)?;
        let partner = Partner {
            id: spec.id.clone(),
            name: spec.name.trim().to_string(),
            created_at: self.now(),
        };
        self.audit_writing(
            principal,
            "partner.put",
            None,
            format!("partner {}", spec.id),
            vec![Records::put_write(
                kind::PARTNER,
                spec.id.clone(),
                None,
                None,
                &partner,
            )?],
        )?;
        Ok(partner)
    }

    /// Every partner (operators); subjects see names when granting.
    pub fn partners(&self, principal: &Principal) -> ApiResult<Vec<Partner>> {
        match principal {
            Principal::Operator { .. } | Principal::System { .. } | Principal::Subject { .. } => {
                self.records().list(kind::PARTNER, RecordFilter::All)
            }
            _ => Err(ApiError::new(
                Code::Forbidden,
                "only operators and subjects list partners",
            )),
        }
    }

    /// Creates a key; the secret is in the answer and nowhere else.
    pub fn create_key(&self, principal: &Principal, spec: &KeySpec) -> ApiResult<IssuedKey> {
        operator_only(principal)?;
        let actor = principal.actor();
        let principal = match spec.role {
            Role::Operator => "operator".to_string(),
            Role::Furnisher | Role::Partner => {
                let Some(id) = spec.principal.as_deref() else {
                    return Err(ApiError::invalid(
                        "principal",
                        format!(
                            "a {} key names the {} it acts for",
                            spec.role.name(),
                            spec.role.name()
                        ),
                    ));
                };
                let registered = match spec.role {
                    Role::Furnisher => self
                        .records()
                        .get::<Furnisher>(kind::FURNISHER, id)?
                        .is_some(),
                    _ => self.records().get::<Partner>(kind::PARTNER, id)?.is_some(),
                };
                if !registered {
                    return Err(ApiError::invalid(
                        "principal",
                        format!("no {} {id:?}; register it first", spec.role.name()),
                    ));
                }
                id.to_string()
            }
        };
        if spec.label.chars().count() > 100 {
            return Err(ApiError::invalid(
                "label",
                "`label` is at most 100 characters",
            ));
        }
        let issued = access::new_key(spec.role, &principal, spec.label.trim(), self.now())?;
        self.audit_event(super::AuditEvent {
            actor: actor.to_string(),
            action: "key.create",
            subject_ref: None,
            detail: format!(
                "{} key {} for {principal}",
                spec.role.name(),
                issued.record.id
            ),
            writes: vec![access::key_write(&issued.record)?],
            answer: None,
        })?;
        self.keys
            .write()
            .map_err(|_| ApiError::internal("key cache lock poisoned"))?
            .insert(issued.record.id.clone(), issued.record.clone());
        Ok(issued)
    }

    /// Every key (without secrets).
    pub fn keys(&self) -> ApiResult<Vec<ApiKey>> {
        let mut keys: Vec<ApiKey> = self.records().list(kind::API_KEY, RecordFilter::All)?;
        for key in &mut keys {
            key.secret_sha256.clear();
        }
        Ok(keys)
    }

    /// Every key, for an operator.
    pub fn list_keys(&self, principal: &Principal) -> ApiResult<Vec<ApiKey>> {
        operator_only(principal)?;
        self.keys()
    }

    /// Revokes a key, in force at once.
    pub fn revoke_key(&self, principal: &Principal, key_id: &str) -> ApiResult<ApiKey> {
        operator_only(principal)?;
        let actor = principal.actor();
        let mut key: ApiKey = self
            .records()
            .get(kind::API_KEY, key_id)?
            .ok_or_else(|| ApiError::not_found(format!("no key {key_id:?}")))?;
        if key.revoked_at.is_none() {
            key.revoked_at = Some(self.now());
            self.audit_event(super::AuditEvent {
                actor: actor.to_string(),
                action: "key.revoke",
                subject_ref: None,
                detail: format!("key {key_id}"),
                writes: vec![access::key_write(&key)?],
                answer: None,
            })?;
            self.keys
                .write()
                .map_err(|_| ApiError::internal("key cache lock poisoned"))?
                .insert(key.id.clone(), key.clone());
        }
        key.secret_sha256.clear();
        Ok(key)
    }

    /// Enrols a subject (the consent step happened in the operator's app).
    pub fn enrol(&self, principal: &Principal, spec: &SubjectSpec) -> ApiResult<()> {
        operator_only(principal)?;
        check_id("subject_id", &spec.subject_id)?;
        if spec.subject_id.starts_with("erased-") {
            return Err(ApiError::invalid(
                "subject_id",
                "ids starting with `erased-` are reserved for tombstones",
            ));
        }
        let event = EventFactory::new("operator", &spec.subject_id)
            .recorded_at(self.now())
            .enrolled(self.now(), spec.kind, spec.restricted_data_consent);
        let id = SubjectId::new(&spec.subject_id).map_err(ApiError::internal)?;
        let reference = self.subject_ref(&id);
        let (at, actor) = (self.now(), principal.actor());
        // The entry commits with the enrolment, in its transaction.
        let mut make = |_: &credence_store::AppendReport| credence_store::AuditEntry {
            chain: super::audit::chain_of(Some(&reference)),
            seq: 0,
            at,
            actor: actor.clone(),
            action: "subject.enrol".into(),
            subject_ref: Some(reference.clone()),
            detail: format!("enrolled as {}", spec.kind.name()),
            prev_hash: String::new(),
            hash: String::new(),
            answer: None,
        };
        let mut write = |writer: &mut dyn credence_store::EventWriter| {
            let batch = writer.append(std::slice::from_ref(&event))?;
            if batch.rejected.is_empty() {
                Ok(())
            } else {
                Err(credence_store::Error::Rejected(batch.rejected))
            }
        };
        let entry = credence_store::EntryOf {
            make: &mut make,
            link: &mut super::audit::link,
        };
        match self.store().write_events_audited(&mut write, Some(entry)) {
            Ok(_) => Ok(()),
            Err(credence_store::Error::Rejected(r)) => Err(ApiError::new(
                Code::Conflict,
                r.first()
                    .map_or_else(|| "enrolment refused".to_string(), |r| r.message.clone()),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Issues a token a subject's app uses to act as the subject.
    pub fn issue_token(
        &self,
        principal: &Principal,
        subject: &str,
        spec: &TokenSpec,
    ) -> ApiResult<IssuedToken> {
        operator_only(principal)?;
        let id = SubjectId::new(subject)
            .map_err(|e| ApiError::invalid("subject_id", format!("`subject_id` {e}")))?;
        self.enrolled(&id)?;
        let minutes = spec.minutes.unwrap_or(60);
        if !(1..=self.limits().max_token_minutes).contains(&minutes) {
            return Err(ApiError::invalid(
                "minutes",
                format!("`minutes` must be 1 to {}", self.limits().max_token_minutes),
            ));
        }
        let expires_at = self
            .now()
            .checked_add(minutes.minutes())
            .map_err(ApiError::internal)?;
        Ok(IssuedToken {
            token: self.secrets.subject_token(&id, expires_at),
            expires_at: expires_at.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_change_whose_audit_entry_fails_is_not_stored() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = crate::test_store::open(&dir.path().join("db"));
        let platform = super::super::Platform::open(
            store.clone(),
            &crate::Config::default(),
            Arc::new(crate::SystemClock),
            super::super::Limits::default(),
            super::super::Answering::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let operator = Principal::Operator {
            key_id: "test".into(),
        };
        let partner = |id: &str| PartnerSpec {
            id: id.into(),
            name: id.into(),
        };
        platform
            .registry()
            .put_partner(&operator, &partner("kept"))
            .unwrap_or_else(|e| panic!("{e}"));
        let entries = || super::super::audit::verify(store.as_ref(), None).map(|v| v.entries);
        let before = entries().unwrap_or_else(|e| panic!("{e}"));
        // A closed audit log stands for one that cannot be written.
        platform.close();
        let refused = platform.registry().put_partner(&operator, &partner("lost"));
        assert_eq!(refused.map_err(|e| e.code).err(), Some(Code::Unavailable));
        let key = platform.registry().create_key(
            &operator,
            &KeySpec {
                role: Role::Operator,
                principal: None,
                label: "lost".into(),
            },
        );
        assert_eq!(key.map_err(|e| e.code).err(), Some(Code::Unavailable));
        assert!(
            store
                .record(kind::PARTNER, "kept")
                .is_ok_and(|r| r.is_some())
        );
        assert!(
            store
                .record(kind::PARTNER, "lost")
                .is_ok_and(|r| r.is_none()),
            "an unaudited partner was stored"
        );
        let keys = store
            .records(kind::API_KEY, RecordFilter::All)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(keys.is_empty(), "an unaudited key was stored: {keys:?}");
        assert_eq!(entries().ok(), Some(before));
    }
}
