//! How a subject's events are kept, on every backend: one compact blob
//! per subject, in canonical order. One format for all backends, so a
//! subject's events read back bit for bit the same wherever they are kept
//! (and move between backends as bytes). Features always read a whole subject at once, so storing
//! the subject as the unit makes a rescore one sequential read per subject
//! instead of forty index look-ups.
//!
//! The format is written by hand rather than through serde because decoding
//! is the hot path of every rescore: ids repeat within a subject (the same
//! account and furnisher on every bill), so they are validated once into a
//! per-subject string table and then shared, and numbers are varints.
//!
//! Layout (version 2), all integers LEB128 varints unless noted:
//!
//! ```text
//! u8 version = 2
//! n_strings, then each: len, UTF-8 bytes       -- ids, currency codes, kind names
//! n_events, then each event:
//!   u8 kind                                    -- EventKind::BUILT_IN order; 11 = custom
//!   zigzag(occurred_at - previous occurred_at) -- seconds; the first from 0
//!   zigzag(recorded_at - occurred_at)
//!   furnisher string index
//!   event id: len, bytes
//!   body fields (see `write_body`)
//! ```
//!
//! Enum codes are positions in each enum's `ALL` array: those orders are part
//! of the storage format (a golden test pins them).

use credence_domain::{
    AccountId, AccountType, Closure, Currency, Damage, DataCategory, Event, EventBody, EventId,
    EventKey, Fact, FurnisherId, IdentityLevel, Money, NONE, RefId, SubjectId, SubjectKind,
    ValidId,
};
use jiff::Timestamp;
use std::collections::HashMap;

const FORMAT_V2: u8 = 2;
const CUSTOM: u8 = 11;

/// Reused buffers for encoding.
#[derive(Debug, Default)]
pub struct Encoder {
    strings: Vec<String>,
    index: HashMap<String, u64>,
    body: Vec<u8>,
}

#[inline]
fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[inline]
fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

#[inline]
fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn position<T: PartialEq>(all: &[T], value: &T) -> u8 {
    all.iter().position(|v| v == value).unwrap_or(0) as u8
}

impl Encoder {
    fn string(&mut self, text: &str) -> u64 {
        if let Some(i) = self.index.get(text) {
            return *i;
        }
        let i = self.strings.len() as u64;
        self.strings.push(text.to_string());
        self.index.insert(text.to_string(), i);
        i
    }

    fn money(&mut self, money: &Money) {
        let currency = self.string(money.currency.as_str());
        let body = &mut self.body;
        put_varint(body, zigzag(money.minor));
        put_varint(body, currency);
    }

    fn optional_money(&mut self, money: Option<&Money>) {
        match money {
            None => self.body.push(0),
            Some(m) => {
                self.body.push(1);
                self.money(m);
            }
        }
    }

    fn id(&mut self, text: &str) {
        let i = self.string(text);
        put_varint(&mut self.body, i);
    }

    fn write_body(&mut self, body: &EventBody) {
        match body {
            EventBody::SubjectEnrolled {
                subject_kind,
                restricted_data_consent,
            } => {
                self.body
                    .push(u8::from(*subject_kind == SubjectKind::Organisation));
                self.body.push(u8::from(*restricted_data_consent));
            }
            EventBody::AccountOpened {
                account_id,
                account_type,
                limit,
            } => {
                self.id(account_id.as_str());
                self.body.push(position(&AccountType::ALL, account_type));
                self.optional_money(limit.as_ref());
            }
            EventBody::AccountClosed {
                account_id,
                closure,
                amount,
            } => {
                self.id(account_id.as_str());
                self.body.push(position(&Closure::ALL, closure));
                self.optional_money(amount.as_ref());
            }
            EventBody::BillDue {
                account_id,
                bill_id,
                amount,
            } => {
                self.id(account_id.as_str());
                self.id(bill_id.as_str());
                self.money(amount);
            }
            EventBody::PaymentMade {
                account_id,
                bill_id,
                amount,
                days_late,
            } => {
                self.id(account_id.as_str());
                match bill_id {
                    None => self.body.push(0),
                    Some(bill) => {
                        let i = self.string(bill.as_str());
                        put_varint(&mut self.body, i + 1);
                    }
                }
                self.money(amount);
                put_varint(&mut self.body, u64::from(*days_late));
            }
            EventBody::BalanceReported {
                account_id,
                balance,
            } => {
                self.id(account_id.as_str());
                self.money(balance);
            }
            EventBody::RentalReturned {
                account_id,
                days_late,
                damage,
            } => {
                self.id(account_id.as_str());
                put_varint(&mut self.body, u64::from(*days_late));
                self.body.push(position(&Damage::ALL, damage));
            }
            EventBody::IdentityVerified { level } => {
                self.body.push(position(&IdentityLevel::ALL, level))
            }
            EventBody::IncomeReported { amount } => self.money(amount),
            EventBody::JudgmentEntered {
                judgment_id,
                amount,
            } => {
                self.id(judgment_id.as_str());
                self.money(amount);
            }
            EventBody::JudgmentSatisfied { judgment_id } => self.id(judgment_id.as_str()),
            EventBody::Custom {
                custom_kind,
                category,
                fields,
            } => {
                self.id(custom_kind.as_str());
                self.body.push(position(&DataCategory::ALL, category));
                put_bytes(&mut self.body, fields.as_bytes());
            }
        }
    }

    /// Encodes events (already in canonical order) into `out`.
    pub fn encode(&mut self, events: &[Event], out: &mut Vec<u8>) {
        self.strings.clear();
        self.index.clear();
        self.body.clear();
        let mut previous = 0i64;
        for event in events {
            let kind = event.kind();
            let code = credence_domain::EventKind::BUILT_IN
                .iter()
                .position(|k| *k == kind)
                .map_or(CUSTOM, |p| p as u8);
            self.body.push(code);
            let occurred = event.occurred_at.as_second();
            put_varint(&mut self.body, zigzag(occurred - previous));
            previous = occurred;
            put_varint(
                &mut self.body,
                zigzag(event.recorded_at.as_second() - occurred),
            );
            self.id(event.key.furnisher_id.as_str());
            put_bytes(&mut self.body, event.key.event_id.as_str().as_bytes());
            self.write_body(&event.body);
        }
        out.clear();
        out.push(FORMAT_V2);
        put_varint(out, self.strings.len() as u64);
        for s in &self.strings {
            put_bytes(out, s.as_bytes());
        }
        put_varint(out, events.len() as u64);
        out.extend_from_slice(&self.body);
    }
}

/// Reads a blob.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    subject: &'a SubjectId,
}

impl<'a> Reader<'a> {
    fn fail(&self, what: &str) -> String {
        format!(
            "event blob of subject {} is corrupt at byte {}: {what}",
            self.subject, self.at
        )
    }

    #[inline]
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| self.fail("unexpected end"))?;
        self.at += 1;
        Ok(b)
    }

    #[inline]
    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            if shift >= 64 {
                return Err(self.fail("varint too long"));
            }
            value |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    #[inline]
    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let len = self.varint()? as usize;
        let end = self
            .at
            .checked_add(len)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| self.fail("length past the end"))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    #[inline]
    fn text(&mut self) -> Result<&'a str, String> {
        let bytes = self.bytes()?;
        std::str::from_utf8(bytes).map_err(|_| self.fail("text is not UTF-8"))
    }

    #[inline]
    fn code<T: Copy>(&mut self, all: &[T]) -> Result<T, String> {
        let code = self.byte()?;
        all.get(code as usize)
            .copied()
            .ok_or_else(|| self.fail("unknown enum code"))
    }
}

/// The string table of a blob, each entry validated once.
struct Table {
    ids: Vec<Option<ValidId>>,
    currencies: Vec<Option<Currency>>,
    texts: Vec<(usize, usize)>,
}

impl Table {
    #[inline]
    fn id(&self, reader: &Reader<'_>, index: u64) -> Result<ValidId, String> {
        self.ids
            .get(index as usize)
            .and_then(Clone::clone)
            .ok_or_else(|| reader.fail("bad id reference"))
    }

    #[inline]
    fn text<'b>(&self, reader: &Reader<'b>, index: u64) -> Result<&'b str, String> {
        let (start, end) = *self
            .texts
            .get(index as usize)
            .ok_or_else(|| reader.fail("bad text reference"))?;
        std::str::from_utf8(&reader.bytes[start..end]).map_err(|_| reader.fail("text is not UTF-8"))
    }
}

#[inline]
fn money(reader: &mut Reader<'_>, table: &Table) -> Result<Money, String> {
    let minor = unzigzag(reader.varint()?);
    let currency_index = reader.varint()? as usize;
    let currency = table
        .currencies
        .get(currency_index)
        .copied()
        .flatten()
        .ok_or_else(|| reader.fail("bad currency reference"))?;
    Ok(Money { minor, currency })
}

#[inline]
fn optional_money(reader: &mut Reader<'_>, table: &Table) -> Result<Option<Money>, String> {
    match reader.byte()? {
        0 => Ok(None),
        _ => money(reader, table).map(Some),
    }
}

fn read_body(reader: &mut Reader<'_>, table: &Table, code: u8) -> Result<EventBody, String> {
    let id = |reader: &mut Reader<'_>| -> Result<ValidId, String> {
        let i = reader.varint()?;
        table.id(reader, i)
    };
    Ok(match code {
        0 => EventBody::SubjectEnrolled {
            subject_kind: if reader.byte()? == 1 {
                SubjectKind::Organisation
            } else {
                SubjectKind::Person
            },
            restricted_data_consent: reader.byte()? == 1,
        },
        1 => EventBody::AccountOpened {
            account_id: AccountId::from(id(reader)?),
            account_type: reader.code(&AccountType::ALL)?,
            limit: optional_money(reader, table)?,
        },
        2 => EventBody::AccountClosed {
            account_id: AccountId::from(id(reader)?),
            closure: reader.code(&Closure::ALL)?,
            amount: optional_money(reader, table)?,
        },
        3 => EventBody::BillDue {
            account_id: AccountId::from(id(reader)?),
            bill_id: RefId::from(id(reader)?),
            amount: money(reader, table)?,
        },
        4 => EventBody::PaymentMade {
            account_id: AccountId::from(id(reader)?),
            bill_id: match reader.varint()? {
                0 => None,
                i => Some(RefId::from(table.id(reader, i - 1)?)),
            },
            amount: money(reader, table)?,
            days_late: u32::try_from(reader.varint()?)
                .map_err(|_| reader.fail("days_late out of range"))?,
        },
        5 => EventBody::BalanceReported {
            account_id: AccountId::from(id(reader)?),
            balance: money(reader, table)?,
        },
        6 => EventBody::RentalReturned {
            account_id: AccountId::from(id(reader)?),
            days_late: u32::try_from(reader.varint()?)
                .map_err(|_| reader.fail("days_late out of range"))?,
            damage: reader.code(&Damage::ALL)?,
        },
        7 => EventBody::IdentityVerified {
            level: reader.code(&IdentityLevel::ALL)?,
        },
        8 => EventBody::IncomeReported {
            amount: money(reader, table)?,
        },
        9 => EventBody::JudgmentEntered {
            judgment_id: RefId::from(id(reader)?),
            amount: money(reader, table)?,
        },
        10 => EventBody::JudgmentSatisfied {
            judgment_id: RefId::from(id(reader)?),
        },
        CUSTOM => {
            let name_index = reader.varint()?;
            EventBody::Custom {
                custom_kind: table.text(reader, name_index)?.into(),
                category: reader.code(&DataCategory::ALL)?,
                fields: reader.text()?.to_string(),
            }
        }
        _ => return Err(reader.fail("unknown event kind code")),
    })
}

/// A reader past a blob's header, and the size of its string table; `None`
/// for an empty blob.
fn open<'a>(blob: &'a [u8], subject: &'a SubjectId) -> Result<Option<(Reader<'a>, usize)>, String> {
    if blob.is_empty() {
        return Ok(None);
    }
    let mut reader = Reader {
        bytes: blob,
        at: 0,
        subject,
    };
    let version = reader.byte()?;
    if version != FORMAT_V2 {
        return Err(reader.fail(&format!("unknown blob format {version}")));
    }
    let n_strings = reader.varint()? as usize;
    Ok(Some((reader, n_strings)))
}

/// Decodes a blob into `out` (appending), giving every event `subject`.
pub fn decode(blob: &[u8], subject: &SubjectId, out: &mut Vec<Event>) -> Result<(), String> {
    let Some((mut reader, n_strings)) = open(blob, subject)? else {
        return Ok(()); // a subject with no events yet
    };
    let mut table = Table {
        ids: Vec::with_capacity(n_strings.min(4096)),
        currencies: Vec::with_capacity(n_strings.min(4096)),
        texts: Vec::with_capacity(n_strings.min(4096)),
    };
    for _ in 0..n_strings {
        let text = reader.text()?;
        // Custom-kind names and currency codes share the table; they are
        // not all ids, so an entry that fails the id rules is kept as text.
        table.ids.push(ValidId::new(text).ok());
        // Only three-letter entries can be currencies; trying the others
        // would build an error message for nothing.
        table.currencies.push(if text.len() == 3 {
            Currency::new(text).ok()
        } else {
            None
        });
        table.texts.push((reader.at - text.len(), reader.at));
    }
    let n_events = reader.varint()? as usize;
    out.reserve(n_events.min(1 << 16));
    let mut occurred = 0i64;
    let time = |reader: &Reader<'_>, s: i64| {
        Timestamp::from_second(s).map_err(|e| reader.fail(&e.to_string()))
    };
    for _ in 0..n_events {
        let code = reader.byte()?;
        occurred = occurred.wrapping_add(unzigzag(reader.varint()?));
        let recorded = occurred.wrapping_add(unzigzag(reader.varint()?));
        let furnisher_index = reader.varint()?;
        let furnisher_id = FurnisherId::from(table.id(&reader, furnisher_index)?);
        let event_id_text = reader.text()?;
        let event_id = EventId::new(event_id_text).map_err(|e| reader.fail(&e.to_string()))?;
        let body = read_body(&mut reader, &table, code)?;
        out.push(Event {
            key: EventKey {
                furnisher_id,
                event_id,
            },
            subject_id: subject.clone(),
            occurred_at: time(&reader, occurred)?,
            recorded_at: time(&reader, recorded)?,
            body,
        });
    }
    if reader.at != blob.len() {
        return Err(reader.fail("trailing bytes"));
    }
    Ok(())
}

/// Decodes a blob straight into compact facts (appending to `out`), the
/// rescore's hot path: no strings are built or validated, ids are renumbered
/// by first appearance exactly as [`SubjectLog::from_events`] numbers them.
///
/// [`SubjectLog::from_events`]: credence_domain::SubjectLog::from_events
pub fn decode_facts(
    blob: &[u8],
    subject: &SubjectId,
    out: &mut Vec<Fact>,
    remap: &mut Vec<u32>,
) -> Result<(), String> {
    let Some((mut reader, n_strings)) = open(blob, subject)? else {
        return Ok(()); // a subject with no events yet
    };
    for _ in 0..n_strings {
        reader.bytes()?;
    }
    remap.clear();
    remap.resize(n_strings, NONE);
    let mut next = 0u32;
    let mut id = |reader: &mut Reader<'_>, raw: u64| -> Result<u32, String> {
        let slot = remap
            .get_mut(raw as usize)
            .ok_or_else(|| reader.fail("bad id reference"))?;
        if *slot == NONE {
            *slot = next;
            next += 1;
        }
        Ok(*slot)
    };
    let n_events = reader.varint()? as usize;
    out.reserve(n_events.min(1 << 16));
    let mut occurred = 0i64;
    for _ in 0..n_events {
        let code = reader.byte()?;
        occurred = occurred.wrapping_add(unzigzag(reader.varint()?));
        reader.varint()?; // recorded_at
        reader.varint()?; // furnisher
        reader.bytes()?; // event id
        let kind = credence_domain::EventKind::BUILT_IN
            .get(code as usize)
            .copied()
            .unwrap_or(credence_domain::EventKind::Custom);
        let mut fact = Fact::new(occurred, kind);
        let money = |reader: &mut Reader<'_>, fact: &mut Fact| -> Result<(), String> {
            fact.amount = unzigzag(reader.varint()?);
            fact.has_amount = true;
            reader.varint()?; // currency
            Ok(())
        };
        let optional_money = |reader: &mut Reader<'_>, fact: &mut Fact| -> Result<(), String> {
            if reader.byte()? != 0 {
                money(reader, fact)?;
            }
            Ok(())
        };
        let enum_code = |reader: &mut Reader<'_>, len: usize| -> Result<u8, String> {
            let c = reader.byte()?;
            if (c as usize) < len {
                Ok(c)
            } else {
                Err(reader.fail("unknown enum code"))
            }
        };
        match code {
            0 => {
                fact.code = reader.byte()?;
                reader.byte()?;
            }
            1 | 2 => {
                let raw = reader.varint()?;
                fact.account = id(&mut reader, raw)?;
                fact.code = enum_code(
                    &mut reader,
                    if code == 1 {
                        AccountType::ALL.len()
                    } else {
                        Closure::ALL.len()
                    },
                )?;
                optional_money(&mut reader, &mut fact)?;
            }
            3 => {
                let raw = reader.varint()?;
                fact.account = id(&mut reader, raw)?;
                let raw = reader.varint()?;
                fact.reference = id(&mut reader, raw)?;
                money(&mut reader, &mut fact)?;
            }
            4 => {
                let raw = reader.varint()?;
                fact.account = id(&mut reader, raw)?;
                let bill = reader.varint()?;
                if bill > 0 {
                    fact.reference = id(&mut reader, bill - 1)?;
                }
                money(&mut reader, &mut fact)?;
                fact.days_late = u32::try_from(reader.varint()?)
                    .map_err(|_| reader.fail("days_late out of range"))?;
            }
            5 => {
                let raw = reader.varint()?;
                fact.account = id(&mut reader, raw)?;
                money(&mut reader, &mut fact)?;
            }
            6 => {
                let raw = reader.varint()?;
                fact.account = id(&mut reader, raw)?;
                fact.days_late = u32::try_from(reader.varint()?)
                    .map_err(|_| reader.fail("days_late out of range"))?;
                fact.code = enum_code(&mut reader, Damage::ALL.len())?;
            }
            7 => fact.code = enum_code(&mut reader, IdentityLevel::ALL.len())?,
            8 => money(&mut reader, &mut fact)?,
            9 => {
                let raw = reader.varint()?;
                fact.reference = id(&mut reader, raw)?;
                money(&mut reader, &mut fact)?;
            }
            10 => {
                let raw = reader.varint()?;
                fact.reference = id(&mut reader, raw)?;
            }
            CUSTOM => {
                reader.varint()?; // kind name
                enum_code(&mut reader, DataCategory::ALL.len())?;
                reader.bytes()?; // fields
            }
            _ => return Err(reader.fail("unknown event kind code")),
        }
        out.push(fact);
    }
    if reader.at != blob.len() {
        return Err(reader.fail("trailing bytes"));
    }
    Ok(())
}

/// A page of subjects decoded into full records, reusing the event
/// buffers of the page before: how every backend fills
/// [`crate::EventStore::scan_subjects`].
pub struct RecordPage<'a> {
    out: &'a mut Vec<crate::SubjectRecord>,
    filled: usize,
}

impl<'a> RecordPage<'a> {
    /// Starts filling `out` from its first record.
    pub fn start(out: &'a mut Vec<crate::SubjectRecord>) -> Self {
        Self { out, filled: 0 }
    }

    /// Decodes the next subject's blob into the page.
    pub fn push(&mut self, subject: credence_domain::Subject, blob: &[u8]) -> crate::Result<()> {
        if self.filled == self.out.len() {
            self.out.push(crate::SubjectRecord {
                subject: subject.clone(),
                events: Vec::new(),
            });
        }
        let record = &mut self.out[self.filled];
        record.events.clear();
        decode(blob, &subject.id, &mut record.events).map_err(crate::Error::Corrupt)?;
        record.subject = subject;
        self.filled += 1;
        Ok(())
    }
}

impl Drop for RecordPage<'_> {
    /// Records left from a longer page before are not part of this one.
    fn drop(&mut self) {
        self.out.truncate(self.filled);
    }
}

/// A page of subjects decoded straight into logs, reusing the fact
/// buffers of the page before: how every backend fills
/// [`crate::EventStore::scan_logs`], the hot path of every rescore.
pub struct LogPage<'a> {
    out: &'a mut Vec<credence_domain::SubjectLog>,
    spare: Vec<Vec<Fact>>,
    remap: Vec<u32>,
}

impl<'a> LogPage<'a> {
    /// Empties `out`, keeping its logs' buffers for the new page.
    pub fn start(out: &'a mut Vec<credence_domain::SubjectLog>) -> Self {
        let spare = out
            .drain(..)
            .map(|log| {
                let (_, mut facts) = log.into_parts();
                facts.clear();
                facts
            })
            .collect();
        Self {
            out,
            spare,
            remap: Vec::new(),
        }
    }

    /// Decodes the next subject's blob into the page.
    pub fn push(&mut self, subject: credence_domain::Subject, blob: &[u8]) -> crate::Result<()> {
        let mut facts = self.spare.pop().unwrap_or_default();
        decode_facts(blob, &subject.id, &mut facts, &mut self.remap)
            .map_err(crate::Error::Corrupt)?;
        self.out.push(
            credence_domain::SubjectLog::from_facts(subject, facts)
                .map_err(|e| crate::Error::Corrupt(e.to_string()))?,
        );
        Ok(())
    }
}

/// One subject's log from its blob.
pub fn log_of(
    subject: credence_domain::Subject,
    blob: &[u8],
) -> crate::Result<credence_domain::SubjectLog> {
    let mut facts = Vec::new();
    decode_facts(blob, &subject.id, &mut facts, &mut Vec::new()).map_err(crate::Error::Corrupt)?;
    credence_domain::SubjectLog::from_facts(subject, facts)
        .map_err(|e| crate::Error::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use credence_domain::build::EventFactory;

    fn day(n: i64) -> Timestamp {
        Timestamp::from_second(1_704_067_200 + n * 86_400).expect("in range")
    }

    fn every_kind() -> Vec<Event> {
        let mut f = EventFactory::new("bank", "s1");
        let mut events = vec![
            f.enrolled(day(0), SubjectKind::Organisation, true),
            f.account_opened(day(1), "card", AccountType::Card, Some(100_000)),
            f.account_opened(day(1), "loan", AccountType::Loan, None),
            f.bill(day(2), "loan", "b1", 5_000),
            f.payment(day(3), "loan", Some("b1"), 5_000, 1),
            f.payment(day(3), "loan", None, 7, 0),
            f.balance(day(4), "card", 33_000),
            f.rental_returned(day(5), "bike", 2, Damage::Major),
            f.identity_verified(day(6), IdentityLevel::Strong),
            f.income(day(7), 300_000),
            f.judgment(day(8), "j1", 90_000),
            f.judgment_satisfied(day(9), "j1"),
            f.account_closed(day(10), "loan", Closure::ChargedOff, Some(1)),
            f.account_closed(day(10), "card", Closure::PaidAsAgreed, None),
        ];
        let mut custom = f.bill(day(11), "x", "y", 1);
        custom.body = EventBody::Custom {
            custom_kind: "deposit returned".into(),
            category: DataCategory::Rental,
            fields: r#"{"days":3}"#.into(),
        };
        custom.recorded_at = day(12);
        events.push(custom);
        events
    }

    #[test]
    fn every_kind_round_trips() {
        let events = every_kind();
        let mut blob = Vec::new();
        Encoder::default().encode(&events, &mut blob);
        let mut back = Vec::new();
        decode(&blob, &events[0].subject_id, &mut back).expect("decodes");
        assert_eq!(back, events);
    }

    #[test]
    fn facts_decode_like_events() {
        let events = every_kind();
        let mut blob = Vec::new();
        Encoder::default().encode(&events, &mut blob);
        let subject = credence_domain::Subject {
            id: events[0].subject_id.clone(),
            kind: SubjectKind::Organisation,
            enrolled_at: day(0),
            restricted_data_consent: true,
            state: credence_domain::SubjectState::Enrolled,
        };
        let mut facts = Vec::new();
        decode_facts(&blob, &subject.id, &mut facts, &mut Vec::new()).expect("decodes");
        let direct =
            credence_domain::SubjectLog::from_facts(subject.clone(), facts).expect("ordered");
        let via_events =
            credence_domain::SubjectLog::from_events(subject, &events).expect("ordered");
        assert_eq!(direct, via_events);
    }

    #[test]
    fn the_format_is_pinned() {
        // Changing enum orders or the layout changes these bytes: bump the
        // format version and keep a reader for the old one instead.
        let mut f = EventFactory::new("f", "s");
        let events = vec![f.payment(
            Timestamp::from_second(100).expect("valid"),
            "a",
            Some("b"),
            5,
            2,
        )];
        let mut blob = Vec::new();
        Encoder::default().encode(&events, &mut blob);
        assert_eq!(
            blob,
            [
                2, 4, 1, b'f', 1, b'a', 1, b'b', 3, b'E', b'U', b'R', 1, 4, 200, 1, 0, 0, 3, b's',
                b'-', b'1', 1, 3, 10, 3, 2
            ]
        );
    }

    #[test]
    fn corrupt_blobs_are_errors_not_panics() {
        let events = every_kind();
        let mut blob = Vec::new();
        Encoder::default().encode(&events, &mut blob);
        let subject = events[0].subject_id.clone();
        for cut in 0..blob.len() {
            let mut out = Vec::new();
            let _ = decode(&blob[..cut], &subject, &mut out);
        }
        let mut flipped = blob.clone();
        for i in 0..flipped.len() {
            flipped[i] ^= 0x5a;
            let _ = decode(&flipped, &subject, &mut Vec::new());
            let _ = decode_facts(&flipped, &subject, &mut Vec::new(), &mut Vec::new());
            flipped[i] ^= 0x5a;
        }
        for cut in 0..blob.len() {
            let _ = decode_facts(&blob[..cut], &subject, &mut Vec::new(), &mut Vec::new());
        }
        assert!(decode(&[9], &subject, &mut Vec::new()).is_err());
    }
}
