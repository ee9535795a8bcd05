//! Configuration: defaults < file < environment < flags. The file is TOML;
//! unknown keys are errors, so a typo never silently falls back to a default.

use crate::{Error, Result};
use credence_domain::{Catalogue, CustomKind, Policy};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Everything an operator can configure about scoring and ingest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Ageing and thin-file rules.
    pub policy: Policy,
    /// Operator-declared event kinds.
    pub custom_kinds: Vec<CustomKind>,
    /// Model files to use instead of the built-in defaults.
    pub models: ModelPaths,
    /// How the embedded store uses memory.
    pub store: StoreSettings,
}

/// Memory the embedded store may keep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSettings {
    /// MiB of decoded subject logs kept in memory, so a subject asked
    /// about again (partner checks, the subject's own pages) is not read
    /// and decoded again; 0 turns the cache off.
    pub subject_cache_mib: u32,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            subject_cache_mib: 64,
        }
    }
}

impl StoreSettings {
    /// The cache's budget in bytes.
    pub fn subject_cache_bytes(&self) -> usize {
        (self.subject_cache_mib as usize).saturating_mul(1 << 20)
    }
}

/// Paths of model files, per subject kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelPaths {
    /// Model for persons.
    pub person: Option<PathBuf>,
    /// Model for organisations.
    pub organisation: Option<PathBuf>,
}

impl Config {
    /// Reads a TOML configuration file. Reading never writes anything.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    /// Parses TOML text and checks the custom kinds against the guardrails.
    pub fn from_toml(text: &str) -> std::result::Result<Self, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.catalogue()?;
        Ok(config)
    }

    /// The event catalogue this configuration declares.
    pub fn catalogue(&self) -> std::result::Result<Catalogue, String> {
        Catalogue::new(self.custom_kinds.clone()).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_configuration_parses() {
        let text = include_str!("../../../credence.example.toml");
        let config = Config::from_toml(text).expect("example parses");
        assert_eq!(config.policy.negative_ageing_years, 5);
        assert!(!config.custom_kinds.is_empty());
        assert_eq!(config.store, StoreSettings::default());
        assert_eq!(config.store.subject_cache_bytes(), 64 << 20);
    }

    #[test]
    fn unknown_keys_and_prohibited_kinds_are_refused() {
        let err = Config::from_toml("[policy]\nnegative_ageing_yrs = 7\n").expect_err("typo");
        assert!(err.contains("negative_ageing_yrs"), "{err}");
        let err = Config::from_toml(
            "[[custom_kinds]]\nname = \"gym_checkin\"\ncategory = \"location_trace\"\n",
        )
        .expect_err("prohibited");
        assert!(
            err.contains("location_trace") && err.contains("gym_checkin"),
            "{err}"
        );
    }
}
