//! Consents: a subject's grant to one partner (a scope, a purpose, an
//! expiry and, for eligibility, the perks and rules as they stood when it
//! was given), its revocation, a partner's view of its consents and the
//! check every partner question passes first; and the subject's separate
//! consent to restricted data. Every rule about consent lives here.

use super::access::Principal;
use super::answers::{PartnerQuestion, check_transaction_id, partner_of};
use super::audit::AuditEvent;
use super::records::{Freeze, Records, SEP, kind};
use super::rights::{bounded, subject_of};
use super::{ApiError, ApiResult, Code, Perk, Platform};
use credence_domain::SubjectId;
use credence_store::{RecordFilter, RecordWrite};
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

/// How much a consent lets a partner see; each includes the ones before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Yes or no for a perk; never the number.
    Eligibility,
    /// The score and band.
    Score,
    /// The full report with reasons and dimensions.
    FullReport,
}

impl Scope {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Eligibility => "eligibility",
            Self::Score => "score",
            Self::FullReport => "full_report",
        }
    }
}

/// A subject's consent to one partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// The partner.
    pub partner_id: String,
    /// The subject as this partner knows them.
    pub pseudonym: String,
    /// What the partner may see.
    pub scope: Scope,
    /// Why, in the subject's words or the partner's request.
    pub purpose: String,
    /// When granted.
    pub granted_at: Timestamp,
    /// When it lapses.
    pub expires_at: Timestamp,
    /// When revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// The partner's perks the consent covers, with their rules as they
    /// stood when it was granted. Under an eligibility consent a partner
    /// may ask about these perks only, and is answered by these rules:
    /// perks created or changed afterwards cannot narrow the score down
    /// (the least-disclosure bound: at most one yes or no per threshold
    /// the subject saw when they agreed).
    #[serde(default)]
    pub perks: Vec<Perk>,
}

impl Consent {
    /// True when it allows `scope` at `now`.
    pub fn allows(&self, scope: Scope, now: Timestamp) -> bool {
        self.revoked_at.is_none() && now < self.expires_at && self.scope >= scope
    }
}

/// Grant a partner access.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    /// The partner (see `GET /v1/partners`).
    pub partner_id: String,
    /// What it may see.
    pub scope: Scope,
    /// Why (shown in the access log).
    pub purpose: String,
    /// When the consent lapses (RFC 3339); at most two years ahead.
    pub expires_at: String,
    /// The partner's perks it covers (by id); all of the partner's perks
    /// as they stand now when left out. Their rules are fixed with the
    /// consent: a perk the partner creates or changes later is not
    /// covered by an eligibility consent.
    #[serde(default)]
    pub perk_ids: Option<Vec<String>>,
}

/// Where a subject's separate consent to restricted data stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RestrictedDataConsent {
    /// True while income, assets, deposits and tax records may be received
    /// and counted.
    pub given: bool,
}

/// The operator records a subject's restricted-data consent on their
/// behalf.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestrictedDataConsentChange {
    /// Given (true) or withdrawn (false).
    pub given: bool,
    /// How the subject expressed it, for the audit log and the subject's
    /// own access log.
    pub on_behalf: String,
}

/// A consent as the partner sees it: the pseudonym, never the subject id.
#[derive(Debug, Clone, Serialize)]
pub struct PartnerConsent {
    /// The subject as this partner knows them.
    pub pseudonym: String,
    /// What the partner may ask.
    pub scope: Scope,
    /// The stated purpose.
    pub purpose: String,
    /// When it lapses.
    pub expires_at: String,
    /// False once revoked or expired.
    pub active: bool,
}

/// The record id of a consent: one per partner and subject.
pub(crate) fn consent_id(partner: &str, pseudonym: &str) -> String {
    format!("{partner}{SEP}{pseudonym}")
}

impl Platform {
    fn change_restricted_data_consent(
        &self,
        principal: &Principal,
        id: &SubjectId,
        given: bool,
        detail: String,
    ) -> ApiResult<RestrictedDataConsent> {
        let subject = self.enrolled(id)?;
        if subject.restricted_data_consent != given {
            self.audit_writing(
                principal,
                if given {
                    "restricted_consent.give"
                } else {
                    "restricted_consent.withdraw"
                },
                Some(id),
                detail,
                vec![RecordWrite::RestrictedDataConsent {
                    subject: id.clone(),
                    given,
                }],
            )?;
        }
        Ok(RestrictedDataConsent { given })
    }

    /// The consented subject behind a pseudonym, or the refusal with its
    /// audit entry (the subject sees who tried) still to be written.
    pub(super) fn consented_subject(
        &self,
        principal: &Principal,
        partner: &str,
        question: &PartnerQuestion,
        scope: Scope,
    ) -> ApiResult<Result<(SubjectId, Consent), (ApiError, AuditEvent)>> {
        check_transaction_id(&question.transaction_id)?;
        // A consent revoked, a freeze put on or a model deployed through
        // another process counts for this very question.
        self.follow_changes(true)?;
        let record = self
            .records()
            .raw(kind::CONSENT, &consent_id(partner, &question.pseudonym))?;
        let no_consent = || {
            ApiError::new(
                Code::ConsentRequired,
                format!(
                    "no active consent of scope {} from this subject; ask them to grant it",
                    scope.name()
                ),
            )
        };
        let Some(record) = record else {
            return Err(no_consent());
        };
        let consent: Consent = super::records::decode(&record)?;
        let subject = record
            .subject
            .ok_or_else(|| ApiError::internal("consent without subject"))?;
        let refusal = |error: ApiError| {
            let event = self.refusal_entry(principal, &subject, question, &error);
            Ok(Err((error, event)))
        };
        if !consent.allows(scope, self.now()) {
            return refusal(no_consent());
        }
        if self
            .records()
            .get::<Freeze>(kind::FREEZE, subject.as_str())?
            .is_some()
        {
            return refusal(ApiError::new(
                Code::Frozen,
                "the subject has frozen their file; no partner gets an answer until they lift it",
            ));
        }
        Ok(Ok((subject, consent)))
    }

    /// [`Self::consented_subject`], writing a refusal's audit entry before
    /// returning it.
    pub(super) fn consented_subject_now(
        &self,
        principal: &Principal,
        partner: &str,
        question: &PartnerQuestion,
        scope: Scope,
    ) -> ApiResult<SubjectId> {
        match self.consented_subject(principal, partner, question, scope)? {
            Ok((subject, _)) => Ok(subject),
            Err((error, event)) => {
                self.audit_event(event)?;
                Err(error)
            }
        }
    }
}

impl super::Consents<'_> {
    /// The subject's consents.
    pub fn my_consents(&self, principal: &Principal) -> ApiResult<Vec<Consent>> {
        let id = subject_of(principal)?;
        self.records()
            .list(kind::CONSENT, RecordFilter::Subject(id))
    }

    /// Grants (or replaces) a consent to one partner.
    pub fn grant_consent(
        &self,
        principal: &Principal,
        request: &ConsentRequest,
    ) -> ApiResult<Consent> {
        let id = subject_of(principal)?;
        self.enrolled(id)?;
        if self
            .records()
            .get::<super::Partner>(kind::PARTNER, &request.partner_id)?
            .is_none()
        {
            return Err(ApiError::invalid(
                "partner_id",
                format!("no partner {:?}", request.partner_id),
            ));
        }
        bounded("purpose", &request.purpose, 200)?;
        let now = self.now();
        let expires_at: Timestamp = request.expires_at.parse().map_err(|e| {
            ApiError::invalid(
                "expires_at",
                format!("`expires_at` is not an RFC 3339 instant: {e}"),
            )
        })?;
        let longest = now
            .checked_add((self.limits().max_consent_days * 24).hours())
            .map_err(ApiError::internal)?;
        if expires_at <= now || expires_at > longest {
            return Err(ApiError::invalid(
                "expires_at",
                format!(
                    "`expires_at` must be in the future and at most {} days ahead",
                    self.limits().max_consent_days
                ),
            ));
        }
        let offered: Vec<Perk> = self
            .records()
            .list(kind::PERK, RecordFilter::Owner(&request.partner_id))?;
        let perks = match &request.perk_ids {
            None => offered,
            Some(ids) => {
                if ids.len() > 100 {
                    return Err(ApiError::invalid("perk_ids", "at most 100 perks"));
                }
                let mut chosen = Vec::with_capacity(ids.len());
                for perk_id in ids {
                    let perk = offered.iter().find(|p| &p.id == perk_id).ok_or_else(|| {
                        ApiError::invalid(
                            "perk_ids",
                            format!(
                                "partner {:?} offers no perk {perk_id:?}; see GET /v1/me/perks",
                                request.partner_id
                            ),
                        )
                    })?;
                    if !chosen.iter().any(|p: &Perk| p.id == perk.id) {
                        chosen.push(perk.clone());
                    }
                }
                chosen
            }
        };
        let pseudonym = self.secrets.pseudonym(&request.partner_id, id);
        let consent = Consent {
            perks,
            partner_id: request.partner_id.clone(),
            pseudonym: pseudonym.clone(),
            scope: request.scope,
            purpose: request.purpose.trim().to_string(),
            granted_at: now,
            expires_at,
            revoked_at: None,
        };
        self.audit_writing(
            principal,
            "consent.grant",
            Some(id),
            format!(
                "to {} for {} until {expires_at}: {}",
                request.partner_id,
                request.scope.name(),
                consent.purpose
            ),
            vec![Records::put_write(
                kind::CONSENT,
                consent_id(&request.partner_id, &pseudonym),
                Some(id),
                Some(&request.partner_id),
                &consent,
            )?],
        )?;
        Ok(consent)
    }

    /// Revokes the consent to a partner, in force for its next request.
    pub fn revoke_consent(&self, principal: &Principal, partner_id: &str) -> ApiResult<Consent> {
        let id = subject_of(principal)?;
        let pseudonym = self.secrets.pseudonym(partner_id, id);
        let record_id = consent_id(partner_id, &pseudonym);
        let mut consent: Consent =
            self.records()
                .get(kind::CONSENT, &record_id)?
                .ok_or_else(|| {
                    ApiError::not_found(format!("you have no consent for partner {partner_id:?}"))
                })?;
        if consent.revoked_at.is_none() {
            consent.revoked_at = Some(self.now());
            self.audit_writing(
                principal,
                "consent.revoke",
                Some(id),
                format!("revoked for {partner_id}"),
                vec![Records::put_write(
                    kind::CONSENT,
                    record_id,
                    Some(id),
                    Some(partner_id),
                    &consent,
                )?],
            )?;
        }
        Ok(consent)
    }

    /// Gives (true) or withdraws (false) the subject's separate consent to
    /// restricted categories (income, assets, deposits, tax). Both take
    /// effect at once: a withdrawal leaves every such record out of every
    /// score from now on, and furnishers cannot send more.
    pub fn set_restricted_data_consent(
        &self,
        principal: &Principal,
        given: bool,
    ) -> ApiResult<RestrictedDataConsent> {
        let id = subject_of(principal)?.clone();
        self.change_restricted_data_consent(
            principal,
            &id,
            given,
            if given {
                "the subject gave the separate consent to restricted data (income, assets, deposits, tax)"
                    .to_string()
            } else {
                "the subject withdrew the consent to restricted data; such records no longer count"
                    .to_string()
            },
        )
    }

    /// Records a subject's restricted-data consent given or withdrawn
    /// through the operator (on paper, at a branch): the operator states
    /// how the subject expressed it, and the subject sees that statement in
    /// their access log.
    pub fn set_restricted_data_consent_for(
        &self,
        principal: &Principal,
        subject: &str,
        change: &RestrictedDataConsentChange,
    ) -> ApiResult<RestrictedDataConsent> {
        super::Audience::Operators.admit(principal)?;
        let id = SubjectId::new(subject)
            .map_err(|e| ApiError::invalid("subject_id", format!("`subject_id` {e}")))?;
        let how = change.on_behalf.trim();
        if how.chars().count() < 10 || how.chars().count() > 500 {
            return Err(ApiError::invalid(
                "on_behalf",
                "`on_behalf` says how the subject gave or withdrew the consent (10 to 500 characters, such as \"signed form at the branch, 2026-11-30\")",
            ));
        }
        self.change_restricted_data_consent(
            principal,
            &id,
            change.given,
            format!(
                "the operator recorded the subject's consent to restricted data as {} on their behalf: {how}",
                if change.given { "given" } else { "withdrawn" }
            ),
        )
    }

    /// The partner's consents.
    pub fn partner_consents(&self, principal: &Principal) -> ApiResult<Vec<PartnerConsent>> {
        let partner = partner_of(principal)?;
        let now = self.now();
        let consents: Vec<Consent> = self
            .records()
            .list(kind::CONSENT, RecordFilter::Owner(partner))?;
        Ok(consents
            .into_iter()
            .map(|c| PartnerConsent {
                active: c.allows(Scope::Eligibility, now),
                pseudonym: c.pseudonym,
                scope: c.scope,
                purpose: c.purpose,
                expires_at: c.expires_at.to_string(),
            })
            .collect())
    }
}
