//! Opaque identifiers. Credence stores no names or document numbers: every
//! party is known by an id that the operator or furnisher assigns, and these
//! types make sure such an id is short, printable and unambiguous.

use compact_str::CompactString;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Longest id accepted anywhere. Long enough for UUIDs and prefixed keys,
/// short enough that nobody mistakes an id field for a free-text field.
pub const MAX_ID_LEN: usize = 128;

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id is the empty string.
    #[error("must not be empty")]
    Empty,
    /// The id is longer than [`MAX_ID_LEN`] bytes.
    #[error("is {len} bytes long; at most {MAX_ID_LEN} are allowed")]
    TooLong {
        /// Length of the rejected id in bytes.
        len: usize,
    },
    /// The id contains a character outside the allowed set.
    #[error(
        "contains {found:?}; ids may use only letters, digits and . _ - : / @ (no spaces: ids are opaque keys, not names)"
    )]
    BadCharacter {
        /// The first offending character.
        found: char,
    },
}

/// Bytes allowed in an id: ASCII letters, digits and `. _ - : / @`.
const ALLOWED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] =
            c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b':' | b'/' | b'@');
        b += 1;
    }
    table
};

fn check_id(raw: &str) -> Result<(), IdError> {
    if raw.is_empty() {
        return Err(IdError::Empty);
    }
    if raw.len() > MAX_ID_LEN {
        return Err(IdError::TooLong { len: raw.len() });
    }
    // Byte-wise: every allowed character is ASCII, so any byte of a
    // multi-byte character is refused too. This runs for every stored event
    // id a rescore decodes.
    if let Some(position) = raw.bytes().position(|b| !ALLOWED[b as usize]) {
        let found = raw[position..].chars().next().unwrap_or('?');
        return Err(IdError::BadCharacter { found });
    }
    Ok(())
}

/// Deserialises a string through a validating constructor without first
/// copying it into a `String`: decoding stored events is a hot path.
pub(crate) struct StrVisitor<T, E>(pub fn(&str) -> Result<T, E>);

impl<T, E: fmt::Display> serde::de::Visitor<'_> for StrVisitor<T, E> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<Err: serde::de::Error>(self, raw: &str) -> Result<T, Err> {
        (self.0)(raw).map_err(Err::custom)
    }
}

/// Text that passed the id rules, not yet given a type. Storage backends
/// validate a string once and then make as many typed ids from it as they
/// need, without checking it again.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ValidId(CompactString);

impl ValidId {
    /// Validates `raw` against the id rules.
    pub fn new(raw: &str) -> Result<Self, IdError> {
        check_id(raw)?;
        Ok(Self(CompactString::new(raw)))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(CompactString);

        /// Debug prints the id as a quoted string, as it appears on the
        /// wire: messages that quote an id must not show the Rust type.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.0.as_str(), f)
            }
        }

        impl $name {
            /// Validates and wraps `raw`.
            pub fn new(raw: &str) -> Result<Self, IdError> {
                check_id(raw)?;
                Ok(Self(CompactString::new(raw)))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<ValidId> for $name {
            fn from(valid: ValidId) -> Self {
                Self(valid.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(raw: &str) -> Result<Self, IdError> {
                Self::new(raw)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(StrVisitor(Self::new))
            }
        }
    };
}

opaque_id!(
    /// A subject (person or organisation) as the operator knows it. Never a
    /// name, national id or phone number: an opaque key.
    SubjectId
);
opaque_id!(
    /// A data furnisher: a lender, utility, landlord, rental company or court
    /// records feed.
    FurnisherId
);
opaque_id!(
    /// A furnisher's own id for one event; with the furnisher it forms the
    /// idempotency key.
    EventId
);
opaque_id!(
    /// A furnisher's id for one account or contract of a subject.
    AccountId
);
opaque_id!(
    /// A furnisher's id for one bill or one court judgment, used to tie a
    /// payment to its bill or a satisfaction to its judgment.
    RefId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_opaque_keys() {
        for ok in ["s-1", "0f8e3c2a-uuid", "acme:loan/42", "a@b"] {
            assert!(SubjectId::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_names_and_junk() {
        assert_eq!(SubjectId::new(""), Err(IdError::Empty));
        assert_eq!(
            SubjectId::new("Jane Doe"),
            Err(IdError::BadCharacter { found: ' ' })
        );
        assert!(matches!(
            SubjectId::new(&"x".repeat(129)),
            Err(IdError::TooLong { len: 129 })
        ));
    }

    #[test]
    fn deserialising_validates() {
        let bad: Result<SubjectId, _> = serde_json::from_str("\"a b\"");
        assert!(bad.is_err());
        let good: SubjectId = serde_json::from_str("\"ab\"").expect("valid id");
        assert_eq!(good.as_str(), "ab");
    }

    #[test]
    fn messages_quote_an_id_as_it_is_written() {
        let id = FurnisherId::new("power-co").expect("valid id");
        assert_eq!(format!("{id:?}"), "\"power-co\"");
        assert_eq!(format!("{id}"), "power-co");
    }
}
