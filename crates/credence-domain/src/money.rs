//! Amounts are integers in minor units (cents, fen) with an ISO 4217 code:
//! no floating point ever touches money.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// An ISO 4217 alphabetic currency code, such as `EUR` or `CNY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parses a three-letter upper-case code.
    pub fn new(code: &str) -> Result<Self, String> {
        let bytes = code.as_bytes();
        if bytes.len() == 3 && bytes.iter().all(u8::is_ascii_uppercase) {
            Ok(Self([bytes[0], bytes[1], bytes[2]]))
        } else {
            Err(format!(
                "{code:?} is not an ISO 4217 currency code (three upper-case letters, such as EUR)"
            ))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(crate::id::StrVisitor(Self::new))
    }
}

/// A non-negative amount in minor units of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Minor units (cents). Never negative: direction is carried by the event
    /// kind (a bill is owed, a payment is paid), not by a sign.
    pub minor: i64,
    /// The currency of `minor`.
    pub currency: Currency,
}

impl Money {
    /// A validated amount; negative amounts are refused.
    pub fn new(minor: i64, currency: Currency) -> Result<Self, String> {
        if minor < 0 {
            return Err(format!(
                "{minor} is negative; amounts are minor units (cents) and never negative — the event kind says which way money moved"
            ));
        }
        Ok(Self { minor, currency })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_codes() {
        assert_eq!(
            Currency::new("EUR").map(|c| c.to_string()),
            Ok("EUR".into())
        );
        assert!(Currency::new("eur").is_err());
        assert!(Currency::new("EURO").is_err());
    }

    #[test]
    fn negative_amounts_refused() {
        let eur = Currency::new("EUR").expect("valid");
        assert!(Money::new(-1, eur).is_err());
        assert!(Money::new(0, eur).is_ok());
    }
}
