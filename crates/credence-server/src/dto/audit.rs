//! The wire shapes of audit.

use super::*;

/// The verdict of [`verify`].
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditVerdict {
    /// True when every entry of every chain is intact and in place.
    pub intact: bool,
    /// Entries checked, over every chain.
    pub entries: u64,
    /// One hash of every chain's head (keep it elsewhere to detect a
    /// cut-off tail on any chain).
    pub head_hash: String,
    /// The first problem found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Each chain checked, by chain.
    pub chains: Vec<ChainVerdict>,
}

/// What [`verify`] found on one chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainVerdict {
    /// The chain (0 is the control plane's).
    pub chain: u32,
    /// Intact entries, from the first.
    pub entries: u64,
    /// The last intact entry's hash.
    pub head_hash: String,
}

impl From<platform::AuditVerdict> for AuditVerdict {
    fn from(value: platform::AuditVerdict) -> Self {
        Self {
            intact: value.intact,
            entries: value.entries,
            head_hash: value.head_hash,
            problem: value.problem,
            chains: value.chains.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<platform::ChainVerdict> for ChainVerdict {
    fn from(value: platform::ChainVerdict) -> Self {
        Self {
            chain: value.chain,
            entries: value.entries,
            head_hash: value.head_hash,
        }
    }
}
