//! The wire shapes of registry.

use super::*;

/// Register a furnisher.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FurnisherSpec {
    /// Its id.
    #[schema(pattern = r"^[A-Za-z0-9._:/@-]{1,128}$")]
    pub id: String,
    /// Display name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Event kinds it may report: names from the event catalogue
    /// (`account_opened`, `payment_made`…) or the deployed model's custom
    /// kinds.
    #[schema(min_items = 1)]
    pub kinds: Vec<String>,
}

/// Register a partner.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerSpec {
    /// Its id.
    #[schema(pattern = r"^[A-Za-z0-9._:/@-]{1,128}$")]
    pub id: String,
    /// Display name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

/// Create an API key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// The role it acts in.
    pub role: Role,
    /// The furnisher or partner it acts for (omit for operators); it must
    /// be registered first.
    #[serde(default)]
    #[schema(pattern = r"^[A-Za-z0-9._:/@-]{1,128}$")]
    pub principal: Option<String>,
    /// Who holds it.
    #[serde(default)]
    #[schema(max_length = 100)]
    pub label: String,
}

/// Enrol a subject (after they consented in the operator's app).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectSpec {
    /// The operator's opaque id for them: never a name or document number.
    #[schema(pattern = r"^[A-Za-z0-9._:/@-]{1,128}$")]
    pub subject_id: String,
    /// `person` or `organisation`.
    #[schema(value_type = String, pattern = "^(person|organisation|organization)$")]
    pub kind: SubjectKind,
    /// The separate explicit consent that admits income, assets, deposits
    /// and tax records.
    #[serde(default)]
    pub restricted_data_consent: bool,
}

/// Issue a subject token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenSpec {
    /// Minutes it is valid (default 60, at most a day).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1440)]
    pub minutes: Option<i64>,
}

/// A subject token.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedToken {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When it stops working.
    pub expires_at: String,
}

impl From<FurnisherSpec> for platform::FurnisherSpec {
    fn from(value: FurnisherSpec) -> Self {
        Self {
            id: value.id,
            name: value.name,
            kinds: value.kinds,
        }
    }
}

impl From<PartnerSpec> for platform::PartnerSpec {
    fn from(value: PartnerSpec) -> Self {
        Self {
            id: value.id,
            name: value.name,
        }
    }
}

impl From<KeySpec> for platform::KeySpec {
    fn from(value: KeySpec) -> Self {
        Self {
            role: value.role.into(),
            principal: value.principal,
            label: value.label,
        }
    }
}

impl From<SubjectSpec> for platform::SubjectSpec {
    fn from(value: SubjectSpec) -> Self {
        Self {
            subject_id: value.subject_id,
            kind: value.kind,
            restricted_data_consent: value.restricted_data_consent,
        }
    }
}

impl From<TokenSpec> for platform::TokenSpec {
    fn from(value: TokenSpec) -> Self {
        Self {
            minutes: value.minutes,
        }
    }
}

impl From<platform::IssuedToken> for IssuedToken {
    fn from(value: platform::IssuedToken) -> Self {
        Self {
            token: value.token,
            expires_at: value.expires_at,
        }
    }
}
