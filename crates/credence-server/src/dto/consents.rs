//! The wire shapes of consents.

use super::*;

/// How much a consent lets a partner see; each includes the ones before.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Yes or no for a perk; never the number.
    Eligibility,
    /// The score and band.
    Score,
    /// The full report with reasons and dimensions.
    FullReport,
}

/// A subject's consent to one partner.
#[derive(Debug, Serialize, ToSchema)]
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
    #[schema(value_type = String)]
    pub granted_at: Timestamp,
    /// When it lapses.
    #[schema(value_type = String)]
    pub expires_at: Timestamp,
    /// When revoked, if it was.
    #[schema(value_type = Option<String>)]
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

/// Grant a partner access.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    /// The partner (see `GET /v1/partners`).
    #[schema(pattern = r"^[A-Za-z0-9._:/@-]{1,128}$")]
    pub partner_id: String,
    /// What it may see.
    pub scope: Scope,
    /// Why (shown in the access log).
    #[schema(min_length = 1, max_length = 200)]
    pub purpose: String,
    /// When the consent lapses (RFC 3339); at most two years ahead.
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// The partner's perks it covers (by id); all of the partner's perks
    /// as they stand now when left out. Their rules are fixed with the
    /// consent: a perk the partner creates or changes later is not
    /// covered by an eligibility consent.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub perk_ids: Option<Vec<String>>,
}

/// Where a subject's separate consent to restricted data stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct RestrictedDataConsent {
    /// True while income, assets, deposits and tax records may be received
    /// and counted.
    pub given: bool,
}

/// The operator records a subject's restricted-data consent on their
/// behalf.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestrictedDataConsentChange {
    /// Given (true) or withdrawn (false).
    pub given: bool,
    /// How the subject expressed it, for the audit log and the subject's
    /// own access log.
    #[schema(min_length = 10, max_length = 500)]
    pub on_behalf: String,
}

/// A consent as the partner sees it: the pseudonym, never the subject id.
#[derive(Debug, Serialize, ToSchema)]
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

impl From<platform::Scope> for Scope {
    fn from(value: platform::Scope) -> Self {
        match value {
            platform::Scope::Eligibility => Self::Eligibility,
            platform::Scope::Score => Self::Score,
            platform::Scope::FullReport => Self::FullReport,
        }
    }
}

impl From<Scope> for platform::Scope {
    fn from(value: Scope) -> Self {
        match value {
            Scope::Eligibility => Self::Eligibility,
            Scope::Score => Self::Score,
            Scope::FullReport => Self::FullReport,
        }
    }
}

impl From<platform::Consent> for Consent {
    fn from(value: platform::Consent) -> Self {
        Self {
            partner_id: value.partner_id,
            pseudonym: value.pseudonym,
            scope: value.scope.into(),
            purpose: value.purpose,
            granted_at: value.granted_at,
            expires_at: value.expires_at,
            revoked_at: value.revoked_at,
            perks: value.perks.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<ConsentRequest> for platform::ConsentRequest {
    fn from(value: ConsentRequest) -> Self {
        Self {
            partner_id: value.partner_id,
            scope: value.scope.into(),
            purpose: value.purpose,
            expires_at: value.expires_at,
            perk_ids: value.perk_ids,
        }
    }
}

impl From<platform::RestrictedDataConsent> for RestrictedDataConsent {
    fn from(value: platform::RestrictedDataConsent) -> Self {
        Self { given: value.given }
    }
}

impl From<RestrictedDataConsentChange> for platform::RestrictedDataConsentChange {
    fn from(value: RestrictedDataConsentChange) -> Self {
        Self {
            given: value.given,
            on_behalf: value.on_behalf,
        }
    }
}

impl From<platform::PartnerConsent> for PartnerConsent {
    fn from(value: platform::PartnerConsent) -> Self {
        Self {
            pseudonym: value.pseudonym,
            scope: value.scope.into(),
            purpose: value.purpose,
            expires_at: value.expires_at,
            active: value.active,
        }
    }
}
