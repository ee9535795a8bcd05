//! The wire shapes of access.

use super::*;

/// The role an API key acts in.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the platform.
    Operator,
    /// Reports events.
    Furnisher,
    /// Asks with consent; offers perks.
    Partner,
}

/// A stored API key (never the key itself).
#[derive(Debug, Serialize, ToSchema)]
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
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    /// When revoked; a revoked key is refused at once.
    #[schema(value_type = Option<String>)]
    pub revoked_at: Option<Timestamp>,
}

/// A newly created key: the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedKey {
    /// The key to hand over; it cannot be shown again.
    pub key: String,
    /// What was stored.
    pub record: ApiKey,
}

impl From<platform::Role> for Role {
    fn from(value: platform::Role) -> Self {
        match value {
            platform::Role::Operator => Self::Operator,
            platform::Role::Furnisher => Self::Furnisher,
            platform::Role::Partner => Self::Partner,
        }
    }
}

impl From<Role> for platform::Role {
    fn from(value: Role) -> Self {
        match value {
            Role::Operator => Self::Operator,
            Role::Furnisher => Self::Furnisher,
            Role::Partner => Self::Partner,
        }
    }
}

impl From<platform::ApiKey> for ApiKey {
    fn from(value: platform::ApiKey) -> Self {
        Self {
            id: value.id,
            role: value.role.into(),
            principal: value.principal,
            label: value.label,
            created_at: value.created_at,
            revoked_at: value.revoked_at,
        }
    }
}

impl From<platform::IssuedKey> for IssuedKey {
    fn from(value: platform::IssuedKey) -> Self {
        Self {
            key: value.key,
            record: value.record.into(),
        }
    }
}
