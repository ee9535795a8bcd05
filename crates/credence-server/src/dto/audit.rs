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
    /// The signed checkpoints over the chains' heads.
    pub checkpoints: CheckpointVerdict,
}

/// What the audit check found of the signed checkpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointVerdict {
    /// The key they were checked with: `database`, or `external:` and a
    /// digest of the key given to the server.
    pub key: String,
    /// Checkpoints signed with that key, each checked.
    pub checked: u64,
    /// Checkpoints signed with another key, which this check cannot vouch
    /// for.
    pub other_key: u64,
    /// When the newest checked checkpoint was signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub latest_at: Option<Timestamp>,
    /// Entries written after the newest checked checkpoint: the hash
    /// chains alone vouch for these.
    pub entries_after_latest: u64,
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
            checkpoints: value.checkpoints.into(),
        }
    }
}

impl From<platform::CheckpointVerdict> for CheckpointVerdict {
    fn from(value: platform::CheckpointVerdict) -> Self {
        Self {
            key: value.key,
            checked: value.checked,
            other_key: value.other_key,
            latest_at: value.latest_at,
            entries_after_latest: value.entries_after_latest,
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
