//! The wire format of events: one flat record per event, the same in JSON
//! Lines, CSV and the HTTP API, so that a furnisher's spreadsheet and its
//! integration speak the same language.
//!
//! Parsing collects every problem of a record (not just the first) as a
//! [`FieldError`] naming the field and how to fix it.

use crate::catalogue::Resolved;
use crate::{
    AccountId, AccountType, Admission, Catalogue, Closure, Currency, Damage, DataCategory, Event,
    EventBody, EventId, EventKey, EventKind, FieldError, FurnisherId, GuardrailViolation,
    IdentityLevel, Money, RefId, SubjectId, SubjectKind, parse_instant,
};
use compact_str::CompactString;
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};

/// Every field of the wire format, in the column order of CSV files.
pub const FIELDS: [&str; 21] = [
    "furnisher_id",
    "event_id",
    "subject_id",
    "kind",
    "occurred_at",
    "subject_kind",
    "restricted_data_consent",
    "account_id",
    "account_type",
    "limit",
    "closure",
    "bill_id",
    "amount",
    "currency",
    "balance",
    "days_late",
    "damage",
    "level",
    "judgment_id",
    "category",
    "fields",
];

/// What a wire field holds, for describing the format (the OpenAPI
/// document) from the parser's own rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireValue {
    /// An opaque id: 1–128 of letters, digits and `. _ - : / @`.
    Id,
    /// An instant: RFC 3339, or a date.
    Instant,
    /// An amount in minor units (cents), 0 or more.
    MinorUnits,
    /// An ISO 4217 code.
    Currency,
    /// Whole days past the due date, 0 to [`MAX_DAYS_LATE`].
    DaysLate,
    /// True or false.
    Boolean,
    /// One of these words.
    OneOf(Vec<&'static str>),
    /// A JSON object (a custom kind's declared fields).
    Object,
}

impl WireValue {
    /// What `field` (one of [`FIELDS`]) holds.
    pub fn of(field: &str) -> Option<Self> {
        Some(match field {
            "furnisher_id" | "event_id" | "subject_id" | "account_id" | "bill_id"
            | "judgment_id" => Self::Id,
            "occurred_at" => Self::Instant,
            "limit" | "amount" | "balance" => Self::MinorUnits,
            "currency" => Self::Currency,
            "days_late" => Self::DaysLate,
            "restricted_data_consent" => Self::Boolean,
            "kind" => Self::OneOf(EventKind::BUILT_IN.iter().map(|k| k.name()).collect()),
            "subject_kind" => Self::OneOf(vec![
                SubjectKind::Person.name(),
                SubjectKind::Organisation.name(),
            ]),
            "account_type" => Self::OneOf(AccountType::ALL.iter().map(|t| t.name()).collect()),
            "closure" => Self::OneOf(Closure::ALL.iter().map(|c| c.name()).collect()),
            "damage" => Self::OneOf(Damage::ALL.iter().map(|d| d.name()).collect()),
            "level" => Self::OneOf(IdentityLevel::ALL.iter().map(|l| l.name()).collect()),
            "category" => Self::OneOf(DataCategory::ALL.iter().map(|c| c.name()).collect()),
            "fields" => Self::Object,
            _ => return None,
        })
    }
}

/// The fields of one kind of record, as the parser reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindFields {
    /// Fields a record of the kind must carry (besides `kind`; and
    /// `furnisher_id`, which an authenticated furnisher may leave out).
    pub required: Vec<&'static str>,
    /// Fields it may carry.
    pub optional: Vec<&'static str>,
}

/// The fields of a built-in kind, found by running the parser itself on an
/// empty record of that kind, so the published description cannot drift
/// from what ingest accepts.
pub fn fields_of(kind: EventKind) -> KindFields {
    struct Empty;
    impl FieldSource for Empty {
        fn get(&self, _: &str) -> Option<RawValue<'_>> {
            None
        }
        fn unknown_fields(&self) -> Vec<String> {
            Vec::new()
        }
    }
    let mut r = Reader {
        source: &Empty,
        kind: kind.name(),
        errors: Vec::new(),
        used: Vec::new(),
    };
    for field in ["event_id", "subject_id", "occurred_at"] {
        r.required(field, None::<()>);
        r.used.push(field);
    }
    r.used.push("category");
    body_of(&mut r, kind);
    let mut required: Vec<&'static str> = FIELDS
        .into_iter()
        .filter(|field| {
            r.errors
                .iter()
                .any(|e| e.code == "missing_field" && e.field.as_deref() == Some(*field))
        })
        .collect();
    // A required amount needs its currency.
    if required
        .iter()
        .any(|f| WireValue::of(f) == Some(WireValue::MinorUnits))
    {
        required.push("currency");
    }
    let optional = FIELDS
        .into_iter()
        .filter(|f| r.used.contains(f) && !required.contains(f) && *f != "kind")
        .chain(std::iter::once("furnisher_id"))
        .collect();
    KindFields { required, optional }
}

/// The largest `days_late` accepted: ten years. Anything larger is a unit
/// mistake (minutes? a date?) rather than a fact.
pub const MAX_DAYS_LATE: i64 = 3650;

/// A value as read from a record: JSON keeps its types, CSV cells are text.
#[derive(Debug, Clone, Copy)]
pub enum RawValue<'a> {
    /// A JSON value.
    Json(&'a Value),
    /// A CSV cell (never empty: empty cells are absent).
    Text(&'a str),
    /// A JSON string, read without building a `Value`.
    Str(&'a str),
    /// A JSON integer, read without building a `Value`.
    Int(i64),
    /// A JSON boolean, read without building a `Value`.
    Bool(bool),
    /// A JSON object, as its text.
    Object(&'a str),
}

/// A source of named fields: a JSON object or a CSV row.
pub trait FieldSource {
    /// The value of `name`, or `None` when absent or null/empty.
    fn get(&self, name: &str) -> Option<RawValue<'_>>;
    /// Names present in the record that the wire format does not know.
    fn unknown_fields(&self) -> Vec<String>;
}

impl FieldSource for Map<String, Value> {
    fn get(&self, name: &str) -> Option<RawValue<'_>> {
        match Map::get(self, name) {
            None | Some(Value::Null) => None,
            Some(value) => Some(RawValue::Json(value)),
        }
    }

    fn unknown_fields(&self) -> Vec<String> {
        self.keys()
            .filter(|k| !FIELDS.contains(&k.as_str()))
            .cloned()
            .collect()
    }
}

/// One JSON record read straight into borrowed fields: no `Value` tree, no
/// allocation. Any surprise (an unknown field, a wrong type, an escaped
/// string) makes deserialisation fail, and [`parse_json`] falls back to the
/// general path, which explains the problem field by field.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct FastRecord<'a> {
    #[serde(borrow)]
    furnisher_id: Option<&'a str>,
    event_id: Option<&'a str>,
    subject_id: Option<&'a str>,
    kind: Option<&'a str>,
    occurred_at: Option<&'a str>,
    subject_kind: Option<&'a str>,
    restricted_data_consent: Option<bool>,
    account_id: Option<&'a str>,
    account_type: Option<&'a str>,
    limit: Option<i64>,
    closure: Option<&'a str>,
    bill_id: Option<&'a str>,
    amount: Option<i64>,
    currency: Option<&'a str>,
    balance: Option<i64>,
    days_late: Option<i64>,
    damage: Option<&'a str>,
    level: Option<&'a str>,
    judgment_id: Option<&'a str>,
    category: Option<&'a str>,
    #[serde(borrow)]
    fields: Option<&'a serde_json::value::RawValue>,
}

impl FieldSource for FastRecord<'_> {
    fn get(&self, name: &str) -> Option<RawValue<'_>> {
        fn text(v: Option<&str>) -> Option<RawValue<'_>> {
            v.map(RawValue::Str)
        }
        let int = |v: Option<i64>| v.map(RawValue::Int);
        match name {
            "furnisher_id" => text(self.furnisher_id),
            "event_id" => text(self.event_id),
            "subject_id" => text(self.subject_id),
            "kind" => text(self.kind),
            "occurred_at" => text(self.occurred_at),
            "subject_kind" => text(self.subject_kind),
            "restricted_data_consent" => self.restricted_data_consent.map(RawValue::Bool),
            "account_id" => text(self.account_id),
            "account_type" => text(self.account_type),
            "limit" => int(self.limit),
            "closure" => text(self.closure),
            "bill_id" => text(self.bill_id),
            "amount" => int(self.amount),
            "currency" => text(self.currency),
            "balance" => int(self.balance),
            "days_late" => int(self.days_late),
            "damage" => text(self.damage),
            "level" => text(self.level),
            "judgment_id" => text(self.judgment_id),
            "category" => text(self.category),
            "fields" => self.fields.map(|raw| RawValue::Object(raw.get())),
            _ => None,
        }
    }

    fn unknown_fields(&self) -> Vec<String> {
        Vec::new() // `deny_unknown_fields` refused them already
    }
}

/// Parses one JSON text into an event: the allocation-free path for
/// well-formed records, the general path (with field-by-field errors) for
/// everything else.
pub fn parse_json(text: &str, ctx: &ParseContext<'_>) -> Result<Event, Vec<FieldError>> {
    if let Ok(fast) = serde_json::from_str::<FastRecord<'_>>(text)
        && !matches!(fast.fields, Some(raw) if !raw.get().trim_start().starts_with('{'))
    {
        return parse_event(&fast, ctx);
    }
    match serde_json::from_str::<Unrepeated>(text) {
        Ok(Unrepeated(Value::Object(map))) => parse_event(&map, ctx),
        Ok(_) => Err(vec![FieldError::record(
            "not_an_object",
            "each record must be one JSON object",
        )]),
        Err(e) if e.to_string().starts_with(REPEATED) => Err(vec![FieldError::record(
            "duplicate_field",
            format!("{e}: send each field once (which of two values is meant cannot be told)"),
        )]),
        Err(e) => Err(vec![FieldError::record(
            "bad_json",
            format!("not valid JSON: {e}"),
        )]),
    }
}

/// How [`Unrepeated`] names a repeated key.
const REPEATED: &str = "field repeated:";

/// A JSON value read with every object's keys checked for repeats, at any
/// depth. serde_json's own map keeps the last of two equal keys without a
/// word, so a record naming `subject_id` twice would be stored for
/// whichever came last; here it is refused. (The fast path's derived
/// reader refuses repeats of its own fields already.)
struct Unrepeated(Value);

impl<'de> serde::Deserialize<'de> for Unrepeated {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(UnrepeatedVisitor)
            .map(Unrepeated)
    }
}

struct UnrepeatedVisitor;

impl<'de> serde::de::Visitor<'de> for UnrepeatedVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Unrepeated(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!(
                    "{REPEATED} `{key}` appears twice"
                )));
            }
            let Unrepeated(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// A CSV row with its header.
pub struct CsvRow<'a> {
    /// Column names.
    pub header: &'a csv_like::Header,
    /// Cells, in header order.
    pub cells: &'a [&'a str],
}

/// Minimal header type so the domain does not depend on a CSV crate.
pub mod csv_like {
    /// Column names of a CSV file, with their positions.
    #[derive(Debug, Clone)]
    pub struct Header {
        names: Vec<String>,
    }

    impl Header {
        /// Checks that every column is a wire field and none repeats.
        pub fn new(names: Vec<String>) -> Result<Self, String> {
            for (i, name) in names.iter().enumerate() {
                if !super::FIELDS.contains(&name.as_str()) {
                    return Err(format!(
                        "column {} {name:?} is not a field of the event format; the columns are {}",
                        i + 1,
                        super::FIELDS.join(", ")
                    ));
                }
                if names[..i].contains(name) {
                    return Err(format!("column {name:?} appears twice"));
                }
            }
            if !names.iter().any(|n| n == "kind") {
                return Err("the header has no `kind` column".into());
            }
            Ok(Self { names })
        }

        /// The position of a column.
        pub fn position(&self, name: &str) -> Option<usize> {
            self.names.iter().position(|n| n == name)
        }

        /// The number of columns.
        pub fn len(&self) -> usize {
            self.names.len()
        }

        /// True when there are no columns.
        pub fn is_empty(&self) -> bool {
            self.names.is_empty()
        }
    }
}

impl FieldSource for CsvRow<'_> {
    fn get(&self, name: &str) -> Option<RawValue<'_>> {
        let cell = *self.cells.get(self.header.position(name)?)?;
        (!cell.is_empty()).then_some(RawValue::Text(cell))
    }

    fn unknown_fields(&self) -> Vec<String> {
        Vec::new() // the header was checked once for the whole file
    }
}

/// What parsing needs besides the record.
#[derive(Debug, Clone, Copy)]
pub struct ParseContext<'a> {
    /// Known kinds.
    pub catalogue: &'a Catalogue,
    /// The furnisher the caller is authenticated as. When set, a record's
    /// own `furnisher_id` must match it (or be absent).
    pub furnisher: Option<&'a FurnisherId>,
    /// Now, by the ingest clock; becomes `recorded_at`.
    pub now: Timestamp,
}

/// How far ahead of the ingest clock an `occurred_at` may be: clocks drift,
/// but facts cannot come from the future.
const FUTURE_TOLERANCE_SECONDS: i64 = 300;

struct Reader<'a, S: FieldSource> {
    source: &'a S,
    kind: &'a str,
    errors: Vec<FieldError>,
    used: Vec<&'static str>,
}

impl<'a, S: FieldSource> Reader<'a, S> {
    fn type_error(&mut self, field: &str, expected: &str, got: RawValue<'_>) {
        let shown = match got {
            RawValue::Json(v) => v.to_string(),
            RawValue::Text(t) | RawValue::Str(t) => format!("{t:?}"),
            RawValue::Int(i) => i.to_string(),
            RawValue::Bool(b) => b.to_string(),
            RawValue::Object(o) => o.to_string(),
        };
        self.errors.push(FieldError::new(
            "wrong_type",
            field,
            format!("expected {expected}, got {shown}"),
        ));
    }

    fn text(&mut self, field: &'static str) -> Option<&'a str> {
        self.used.push(field);
        match self.source.get(field)? {
            RawValue::Json(Value::String(s)) => Some(s.as_str()),
            RawValue::Text(t) | RawValue::Str(t) => Some(t),
            other => {
                self.type_error(field, "a string", other);
                None
            }
        }
    }

    fn int(&mut self, field: &'static str) -> Option<i64> {
        self.used.push(field);
        let value = self.source.get(field)?;
        let parsed = match value {
            RawValue::Json(Value::Number(n)) => n.as_i64(),
            RawValue::Int(i) => Some(i),
            RawValue::Text(t) => t.trim().parse::<i64>().ok(),
            _ => None,
        };
        if parsed.is_none() {
            self.type_error(field, "a whole number", value);
        }
        parsed
    }

    fn boolean(&mut self, field: &'static str) -> Option<bool> {
        self.used.push(field);
        let value = self.source.get(field)?;
        let parsed = match value {
            RawValue::Json(Value::Bool(b)) => Some(*b),
            RawValue::Bool(b) => Some(b),
            RawValue::Text("true") => Some(true),
            RawValue::Text("false") => Some(false),
            _ => None,
        };
        if parsed.is_none() {
            self.type_error(field, "true or false", value);
        }
        parsed
    }

    fn required<T>(&mut self, field: &'static str, value: Option<T>) -> Option<T> {
        if value.is_none() && self.source.get(field).is_none() {
            self.errors.push(FieldError::missing(field, self.kind));
        }
        value
    }

    fn req_text(&mut self, field: &'static str) -> Option<&'a str> {
        let value = self.text(field);
        self.required(field, value)
    }

    fn req_int(&mut self, field: &'static str) -> Option<i64> {
        let value = self.int(field);
        self.required(field, value)
    }

    fn id<T>(
        &mut self,
        field: &'static str,
        parse: fn(&str) -> Result<T, crate::IdError>,
        required: bool,
    ) -> Option<T> {
        let raw = if required {
            self.req_text(field)
        } else {
            self.text(field)
        }?;
        match parse(raw) {
            Ok(id) => Some(id),
            Err(e) => {
                self.errors
                    .push(FieldError::new("invalid_id", field, e.to_string()));
                None
            }
        }
    }

    fn choice<T: Copy>(
        &mut self,
        field: &'static str,
        all: &[T],
        name: fn(T) -> &'static str,
        required: bool,
    ) -> Option<T> {
        let raw = if required {
            self.req_text(field)
        } else {
            self.text(field)
        }?;
        let found = all.iter().copied().find(|v| name(*v) == raw);
        if found.is_none() {
            let options: Vec<&str> = all.iter().map(|v| name(*v)).collect();
            self.errors.push(FieldError::new(
                "invalid_value",
                field,
                format!("{raw:?} is not one of {}", options.join(", ")),
            ));
        }
        found
    }

    fn currency(&mut self) -> Option<Currency> {
        let raw = self.req_text("currency")?;
        match Currency::new(raw) {
            Ok(c) => Some(c),
            Err(e) => {
                self.errors
                    .push(FieldError::new("invalid_value", "currency", e));
                None
            }
        }
    }

    fn money(&mut self, field: &'static str, required: bool) -> Option<Money> {
        self.used.push("currency");
        let given = self.source.get(field).is_some();
        let minor = if required {
            self.req_int(field)
        } else {
            self.int(field)
        };
        // Check the currency whenever an amount was given, even a malformed
        // one, so both problems are reported at once.
        let currency = if given { self.currency() } else { None };
        let (minor, currency) = (minor?, currency?);
        match Money::new(minor, currency) {
            Ok(m) => Some(m),
            Err(e) => {
                self.errors
                    .push(FieldError::new("negative_amount", field, e));
                None
            }
        }
    }

    fn days_late(&mut self) -> Option<u32> {
        let days = self.req_int("days_late")?;
        if !(0..=MAX_DAYS_LATE).contains(&days) {
            self.errors.push(FieldError::new(
                "out_of_range",
                "days_late",
                format!("{days} is outside 0..={MAX_DAYS_LATE} (whole days past the due date)"),
            ));
            return None;
        }
        u32::try_from(days).ok()
    }
}

/// Parses and validates one record into an [`Event`], collecting every
/// problem.
pub fn parse_event<S: FieldSource>(
    source: &S,
    ctx: &ParseContext<'_>,
) -> Result<Event, Vec<FieldError>> {
    let kind_name = match source.get("kind") {
        Some(RawValue::Json(Value::String(s))) => s.as_str(),
        Some(RawValue::Text(t) | RawValue::Str(t)) => t,
        _ => "",
    };
    let mut r = Reader {
        source,
        kind: kind_name,
        errors: Vec::new(),
        used: vec!["kind"],
    };
    for field in source.unknown_fields() {
        r.errors.push(FieldError::new(
            "unknown_field",
            field.clone(),
            format!(
                "is not a field of the event format; the fields are {}",
                FIELDS.join(", ")
            ),
        ));
    }

    let furnisher_id = match (
        ctx.furnisher,
        r.id("furnisher_id", FurnisherId::new, ctx.furnisher.is_none()),
    ) {
        (Some(auth), Some(given)) if &given != auth => {
            r.errors.push(FieldError::new(
                "furnisher_mismatch",
                "furnisher_id",
                format!("is {given:?} but this request is authenticated as furnisher {auth:?}"),
            ));
            None
        }
        (Some(auth), _) => Some(auth.clone()),
        (None, given) => given,
    };
    let event_id = r.id("event_id", EventId::new, true);
    let subject_id = r.id("subject_id", SubjectId::new, true);
    let occurred_at = r
        .req_text("occurred_at")
        .and_then(|raw| match parse_instant(raw) {
            Ok(ts) => Some(ts),
            Err(e) => {
                r.errors
                    .push(FieldError::new("invalid_time", "occurred_at", e));
                None
            }
        });
    if let Some(ts) = occurred_at {
        if ts.as_second() > ctx.now.as_second() + FUTURE_TOLERANCE_SECONDS {
            r.errors.push(FieldError::new(
                "future_time",
                "occurred_at",
                format!(
                    "{ts} is in the future (now is {}); report facts once they have happened",
                    ctx.now
                ),
            ));
        } else if ts.as_second() < -2_208_988_800 {
            r.errors.push(FieldError::new(
                "out_of_range",
                "occurred_at",
                format!("{ts} is before 1900"),
            ));
        }
    }

    let declared_category = r
        .text("category")
        .map(|raw| (raw, DataCategory::from_name(raw)));
    let body = if kind_name.is_empty() {
        if source.get("kind").is_none() {
            r.errors.push(FieldError::missing("kind", "any"));
        } else {
            r.text("kind"); // records a type error
        }
        None
    } else {
        match ctx.catalogue.resolve(kind_name) {
            Err(e) => {
                r.errors.push(e);
                None
            }
            Ok(Resolved::BuiltIn(kind)) => {
                if let Some((raw, category)) = declared_category {
                    check_declared_category(&mut r, kind_name, raw, category, kind.category());
                }
                body_of(&mut r, kind)
            }
            Ok(Resolved::Custom(custom)) => {
                if let Some((raw, category)) = declared_category {
                    check_declared_category(&mut r, kind_name, raw, category, custom.category);
                }
                custom_body(&mut r, custom)
            }
        }
    };

    if body.is_some()
        || r.errors
            .iter()
            .all(|e| e.code != "unknown_kind" && e.code != "prohibited_category")
    {
        for field in FIELDS {
            if !r.used.contains(&field) && source.get(field).is_some() {
                r.errors.push(FieldError::new(
                    "field_not_applicable",
                    field,
                    format!("does not apply to kind {kind_name:?}; remove it"),
                ));
            }
        }
    }

    match (
        r.errors.is_empty(),
        furnisher_id,
        event_id,
        subject_id,
        occurred_at,
        body,
    ) {
        (
            true,
            Some(furnisher_id),
            Some(event_id),
            Some(subject_id),
            Some(occurred_at),
            Some(body),
        ) => Ok(Event {
            key: EventKey {
                furnisher_id,
                event_id,
            },
            subject_id,
            occurred_at,
            recorded_at: Timestamp::from_second(ctx.now.as_second()).unwrap_or(ctx.now),
            body,
        }),
        _ => {
            let mut errors = r.errors;
            if errors.is_empty() {
                errors.push(FieldError::new(
                    "invalid_record",
                    "kind",
                    "the record could not be read",
                ));
            }
            Err(errors)
        }
    }
}

fn check_declared_category<S: FieldSource>(
    r: &mut Reader<'_, S>,
    kind_name: &str,
    raw: &str,
    declared: Option<DataCategory>,
    actual: DataCategory,
) {
    match declared {
        None => r.errors.push(FieldError::new(
            "invalid_value",
            "category",
            format!("{raw:?} is not a data category"),
        )),
        Some(category) if matches!(category.admission(), Admission::Prohibited | Admission::AuditOnly) => {
            r.errors.push(
                GuardrailViolation::new(format!("a record of kind {kind_name:?} declared as {raw:?}"), category)
                    .into_field_error("category"),
            );
        }
        Some(category) if category != actual => r.errors.push(FieldError::new(
            "category_mismatch",
            "category",
            format!("kind {kind_name:?} has category {actual}, not {category}; omit the field or correct it"),
        )),
        Some(_) => {}
    }
}

fn body_of<S: FieldSource>(r: &mut Reader<'_, S>, kind: EventKind) -> Option<EventBody> {
    let account = |r: &mut Reader<'_, S>| r.id("account_id", AccountId::new, true);
    match kind {
        EventKind::SubjectEnrolled => {
            let subject_kind = r.req_text("subject_kind").and_then(|raw| {
                let parsed = SubjectKind::from_name(raw);
                if parsed.is_none() {
                    r.errors.push(FieldError::new(
                        "invalid_value",
                        "subject_kind",
                        format!("{raw:?} is not one of person, organisation"),
                    ));
                }
                parsed
            });
            let consent = r.boolean("restricted_data_consent").unwrap_or(false);
            Some(EventBody::SubjectEnrolled {
                subject_kind: subject_kind?,
                restricted_data_consent: consent,
            })
        }
        EventKind::AccountOpened => {
            let account_id = account(r);
            let account_type = r.choice("account_type", &AccountType::ALL, AccountType::name, true);
            let limit = r.money("limit", false);
            Some(EventBody::AccountOpened {
                account_id: account_id?,
                account_type: account_type?,
                limit,
            })
        }
        EventKind::AccountClosed => {
            let account_id = account(r);
            let closure = r.choice("closure", &Closure::ALL, Closure::name, true);
            let amount = r.money("amount", false);
            Some(EventBody::AccountClosed {
                account_id: account_id?,
                closure: closure?,
                amount,
            })
        }
        EventKind::BillDue => {
            let account_id = account(r);
            let bill_id = r.id("bill_id", RefId::new, true);
            let amount = r.money("amount", true);
            Some(EventBody::BillDue {
                account_id: account_id?,
                bill_id: bill_id?,
                amount: amount?,
            })
        }
        EventKind::PaymentMade => {
            let account_id = account(r);
            let bill_id = r.id("bill_id", RefId::new, false);
            let amount = r.money("amount", true);
            let days_late = r.days_late();
            Some(EventBody::PaymentMade {
                account_id: account_id?,
                bill_id,
                amount: amount?,
                days_late: days_late?,
            })
        }
        EventKind::BalanceReported => {
            let account_id = account(r);
            let balance = r.money("balance", true);
            Some(EventBody::BalanceReported {
                account_id: account_id?,
                balance: balance?,
            })
        }
        EventKind::RentalReturned => {
            let account_id = account(r);
            let days_late = r.days_late();
            let damage = r
                .choice("damage", &Damage::ALL, Damage::name, false)
                .unwrap_or(Damage::None);
            Some(EventBody::RentalReturned {
                account_id: account_id?,
                days_late: days_late?,
                damage,
            })
        }
        EventKind::IdentityVerified => {
            let level = r.choice("level", &IdentityLevel::ALL, IdentityLevel::name, true);
            Some(EventBody::IdentityVerified { level: level? })
        }
        EventKind::IncomeReported => Some(EventBody::IncomeReported {
            amount: r.money("amount", true)?,
        }),
        EventKind::JudgmentEntered => {
            let judgment_id = r.id("judgment_id", RefId::new, true);
            let amount = r.money("amount", true);
            Some(EventBody::JudgmentEntered {
                judgment_id: judgment_id?,
                amount: amount?,
            })
        }
        EventKind::JudgmentSatisfied => Some(EventBody::JudgmentSatisfied {
            judgment_id: r.id("judgment_id", RefId::new, true)?,
        }),
        EventKind::Custom => None,
    }
}

fn custom_body<S: FieldSource>(
    r: &mut Reader<'_, S>,
    kind: &crate::CustomKind,
) -> Option<EventBody> {
    r.used.push("fields");
    let object = match r.source.get("fields") {
        None => Some(Map::new()),
        Some(RawValue::Json(Value::Object(map))) => Some(map.clone()),
        Some(RawValue::Text(text) | RawValue::Object(text)) => {
            match serde_json::from_str::<Unrepeated>(text) {
                Ok(Unrepeated(Value::Object(map))) => Some(map),
                Err(e) if e.to_string().starts_with(REPEATED) => {
                    r.errors.push(FieldError::new(
                        "duplicate_field",
                        "fields",
                        format!("{e}: send each field once"),
                    ));
                    return None;
                }
                _ => None,
            }
        }
        Some(_) => None,
    };
    let Some(object) = object else {
        r.errors.push(FieldError::new(
            "wrong_type",
            "fields",
            format!(
                "expected a JSON object of the fields kind {:?} declares",
                kind.name
            ),
        ));
        return None;
    };
    match kind.read_fields(&object) {
        Ok(fields) => Some(EventBody::Custom {
            custom_kind: CompactString::new(&kind.name),
            category: kind.category,
            fields,
        }),
        Err(errors) => {
            r.errors.extend(errors);
            None
        }
    }
}

/// An event in wire shape, for writing JSON Lines and exports.
#[derive(Debug, Serialize)]
#[allow(missing_docs)]
pub struct WireEvent<'a> {
    pub furnisher_id: &'a str,
    pub event_id: &'a str,
    pub subject_id: &'a str,
    pub kind: &'a str,
    pub occurred_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restricted_data_consent: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closure: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bill_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_late: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damage: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judgment_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Box<serde_json::value::RawValue>>,
}

impl<'a> WireEvent<'a> {
    /// The wire shape of `event`.
    pub fn from_event(event: &'a Event) -> Self {
        let mut wire = WireEvent {
            furnisher_id: event.key.furnisher_id.as_str(),
            event_id: event.key.event_id.as_str(),
            subject_id: event.subject_id.as_str(),
            kind: event.kind().name(),
            occurred_at: event.occurred_at.to_string(),
            subject_kind: None,
            restricted_data_consent: None,
            account_id: event.body.account_id().map(AccountId::as_str),
            account_type: None,
            limit: None,
            closure: None,
            bill_id: None,
            amount: None,
            currency: None,
            balance: None,
            days_late: None,
            damage: None,
            level: None,
            judgment_id: None,
            category: None,
            fields: None,
        };
        let money = |m: &'a Money| (Some(m.minor), Some(m.currency.as_str()));
        match &event.body {
            EventBody::SubjectEnrolled {
                subject_kind,
                restricted_data_consent,
            } => {
                wire.subject_kind = Some(subject_kind.name());
                wire.restricted_data_consent = Some(*restricted_data_consent);
            }
            EventBody::AccountOpened {
                account_type,
                limit,
                ..
            } => {
                wire.account_type = Some(account_type.name());
                if let Some(limit) = limit {
                    (wire.limit, wire.currency) = money(limit);
                }
            }
            EventBody::AccountClosed {
                closure, amount, ..
            } => {
                wire.closure = Some(closure.name());
                if let Some(amount) = amount {
                    (wire.amount, wire.currency) = money(amount);
                }
            }
            EventBody::BillDue {
                bill_id, amount, ..
            } => {
                wire.bill_id = Some(bill_id.as_str());
                (wire.amount, wire.currency) = money(amount);
            }
            EventBody::PaymentMade {
                bill_id,
                amount,
                days_late,
                ..
            } => {
                wire.bill_id = bill_id.as_ref().map(RefId::as_str);
                (wire.amount, wire.currency) = money(amount);
                wire.days_late = Some(*days_late);
            }
            EventBody::BalanceReported { balance, .. } => {
                (wire.balance, wire.currency) = money(balance);
            }
            EventBody::RentalReturned {
                days_late, damage, ..
            } => {
                wire.days_late = Some(*days_late);
                wire.damage = Some(damage.name());
            }
            EventBody::IdentityVerified { level } => wire.level = Some(level.name()),
            EventBody::IncomeReported { amount } => {
                (wire.amount, wire.currency) = money(amount);
            }
            EventBody::JudgmentEntered {
                judgment_id,
                amount,
            } => {
                wire.judgment_id = Some(judgment_id.as_str());
                (wire.amount, wire.currency) = money(amount);
            }
            EventBody::JudgmentSatisfied { judgment_id } => {
                wire.judgment_id = Some(judgment_id.as_str())
            }
            EventBody::Custom {
                custom_kind,
                category,
                fields,
            } => {
                wire.kind = custom_kind.as_str();
                wire.category = Some(category.name());
                wire.fields = serde_json::value::RawValue::from_string(fields.clone()).ok();
            }
        }
        wire
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(catalogue: &Catalogue) -> ParseContext<'_> {
        ParseContext {
            catalogue,
            furnisher: None,
            now: parse_instant("2026-06-01").expect("valid"),
        }
    }

    fn parse(json: &str) -> Result<Event, Vec<FieldError>> {
        let catalogue = Catalogue::default();
        let map: Map<String, Value> = serde_json::from_str(json).expect("test JSON");
        parse_event(&map, &ctx(&catalogue))
    }

    fn codes(errors: &[FieldError]) -> Vec<(&str, &str)> {
        errors
            .iter()
            .map(|e| (e.field.as_deref().unwrap_or(""), e.code))
            .collect()
    }

    /// A valid value of each kind of wire field.
    fn sample(field: &str) -> Value {
        match WireValue::of(field).expect("a wire field") {
            WireValue::Id => Value::from("x1"),
            WireValue::Instant => Value::from("2026-01-05"),
            WireValue::MinorUnits => Value::from(1200),
            WireValue::Currency => Value::from("EUR"),
            WireValue::DaysLate => Value::from(3),
            WireValue::Boolean => Value::from(false),
            WireValue::OneOf(words) => Value::from(words[0]),
            WireValue::Object => Value::Object(Map::new()),
        }
    }

    /// The description of every kind is what the parser does: the required
    /// fields alone make a valid record, each one left out is refused as
    /// missing, and every optional field is accepted.
    #[test]
    fn every_kind_is_described_as_the_parser_reads_it() {
        let catalogue = Catalogue::default();
        for kind in EventKind::BUILT_IN {
            let fields = fields_of(kind);
            let mut record = Map::new();
            record.insert("furnisher_id".into(), Value::from("bank"));
            record.insert("kind".into(), Value::from(kind.name()));
            for field in &fields.required {
                record.insert((*field).into(), sample(field));
            }
            assert!(
                parse_event(&record, &ctx(&catalogue)).is_ok(),
                "{}: required {:?} do not make a valid record: {:?}",
                kind.name(),
                fields.required,
                parse_event(&record, &ctx(&catalogue)).err()
            );
            for field in &fields.required {
                let mut without = record.clone();
                without.remove(*field);
                let errors = parse_event(&without, &ctx(&catalogue)).expect_err("refused");
                assert!(
                    codes(&errors).contains(&(field, "missing_field")),
                    "{}: {field} left out: {errors:?}",
                    kind.name()
                );
            }
            for field in &fields.optional {
                if *field == "category" || *field == "furnisher_id" {
                    continue; // must match the kind, or the caller
                }
                let mut with = record.clone();
                with.insert((*field).into(), sample(field));
                if WireValue::of(field) == Some(WireValue::MinorUnits) {
                    with.insert("currency".into(), Value::from("EUR"));
                }
                assert!(
                    parse_event(&with, &ctx(&catalogue)).is_ok(),
                    "{}: optional {field}: {:?}",
                    kind.name(),
                    parse_event(&with, &ctx(&catalogue)).err()
                );
            }
            for field in FIELDS {
                assert!(
                    field == "kind"
                        || fields.required.contains(&field)
                        || fields.optional.contains(&field)
                        || {
                            let mut with = record.clone();
                            with.insert(field.into(), sample(field));
                            parse_event(&with, &ctx(&catalogue)).is_err()
                        },
                    "{}: {field} is accepted but not described",
                    kind.name()
                );
            }
        }
        assert_eq!(
            fields_of(EventKind::BillDue).required,
            [
                "event_id",
                "subject_id",
                "occurred_at",
                "account_id",
                "bill_id",
                "amount",
                "currency"
            ]
        );
    }

    const PAYMENT: &str = r#"{"furnisher_id":"bank","event_id":"e1","subject_id":"s1","kind":"payment_made","occurred_at":"2026-01-05","account_id":"a1","bill_id":"b1","amount":1200,"currency":"EUR","days_late":0}"#;

    #[test]
    fn a_valid_payment_round_trips_through_the_wire_shape() {
        let event = parse(PAYMENT).expect("valid");
        assert_eq!(event.kind(), EventKind::PaymentMade);
        let json = serde_json::to_string(&WireEvent::from_event(&event)).expect("serialises");
        let again = parse(&json).expect("round trip");
        assert!(event.same_fact(&again));
    }

    #[test]
    fn every_problem_is_listed_with_its_field() {
        let errors = parse(
            r#"{"furnisher_id":"bank","event_id":"e 1","subject_id":"s1","kind":"payment_made","occurred_at":"2027-01-01","account_id":"a1","amount":-5,"currency":"eur","days_late":"x","colour":"red"}"#,
        )
        .expect_err("invalid");
        let found = codes(&errors);
        for expected in [
            ("colour", "unknown_field"),
            ("event_id", "invalid_id"),
            ("occurred_at", "future_time"),
            ("currency", "invalid_value"),
            ("days_late", "wrong_type"),
        ] {
            assert!(found.contains(&expected), "{expected:?} not in {found:?}");
        }
    }

    #[test]
    fn negative_amounts_are_refused() {
        let errors = parse(&PAYMENT.replace("1200", "-1200")).expect_err("negative");
        assert_eq!(codes(&errors), vec![("amount", "negative_amount")]);
    }

    #[test]
    fn missing_fields_are_named() {
        let errors = parse(r#"{"furnisher_id":"bank","event_id":"e1","subject_id":"s1","kind":"bill_due","occurred_at":"2026-01-05","account_id":"a1"}"#)
            .expect_err("incomplete");
        let found = codes(&errors);
        assert!(found.contains(&("bill_id", "missing_field")), "{found:?}");
        assert!(found.contains(&("amount", "missing_field")), "{found:?}");
        let errors = parse(r#"{"furnisher_id":"bank","event_id":"e1","subject_id":"s1","occurred_at":"2026-01-05"}"#)
            .expect_err("no kind");
        let kind = errors
            .iter()
            .find(|e| e.field.as_deref() == Some("kind"))
            .expect("the kind is named");
        assert_eq!(kind.to_string(), "field `kind`: is required on every event");
    }

    #[test]
    fn fields_that_do_not_apply_are_refused() {
        let errors =
            parse(&PAYMENT.replace(r#""days_late":0"#, r#""days_late":0,"level":"strong""#))
                .expect_err("level on a payment");
        assert_eq!(codes(&errors), vec![("level", "field_not_applicable")]);
    }

    #[test]
    fn prohibited_categories_are_refused_at_ingest() {
        let errors = parse(&PAYMENT.replace(
            r#""days_late":0"#,
            r#""days_late":0,"category":"health_or_genetics""#,
        ))
        .expect_err("declared prohibited");
        assert_eq!(codes(&errors), vec![("category", "prohibited_category")]);
        let errors =
            parse(&PAYMENT.replace("payment_made", "religious_donation")).expect_err("kind");
        assert!(errors.iter().any(|e| e.code == "prohibited_category" && e.reason.contains("religion_or_belief")));
    }

    #[test]
    fn custom_kinds_must_be_declared_and_clean() {
        let catalogue = Catalogue::new(vec![crate::CustomKind {
            name: "deposit_returned".into(),
            category: DataCategory::Rental,
            description: String::new(),
            override_reason: None,
            fields: [(
                "days".to_string(),
                crate::FieldSpec {
                    field_type: crate::FieldType::Integer,
                    unit: "days".into(),
                    min: Some(0.0),
                    max: Some(90.0),
                    values: Vec::new(),
                    required: false,
                    description: String::new(),
                    override_reason: None,
                },
            )]
            .into(),
        }])
        .expect("permitted");
        let parse_with = |json: &str| {
            let map: Map<String, Value> = serde_json::from_str(json).expect("test JSON");
            parse_event(&map, &ctx(&catalogue))
        };
        let ok = parse_with(r#"{"furnisher_id":"f","event_id":"e","subject_id":"s","kind":"deposit_returned","occurred_at":"2026-01-01","fields":{"days":3}}"#)
            .expect("declared kind");
        assert_eq!(ok.body.category(), DataCategory::Rental);
        let errors = parse_with(r#"{"furnisher_id":"f","event_id":"e","subject_id":"s","kind":"deposit_returned","occurred_at":"2026-01-01","fields":{"gps_trace":"x"}}"#)
            .expect_err("an undeclared field");
        assert_eq!(codes(&errors), vec![("fields.gps_trace", "unknown_field")]);
        // A field named twice inside `fields`, on the fast path (the
        // fields' object comes raw) as on the general one.
        let twice = r#"{"furnisher_id":"f","event_id":"e","subject_id":"s","kind":"deposit_returned","occurred_at":"2026-01-01","fields":{"days":3,"days":80}}"#;
        let errors = parse_json(twice, &ctx(&catalogue)).expect_err("refused");
        assert_eq!(codes(&errors), vec![("fields", "duplicate_field")]);
        let errors = parse_json(&twice.replace(r#""e""#, r#""e","e2":1"#), &ctx(&catalogue))
            .expect_err("refused");
        assert_eq!(errors[0].code, "duplicate_field", "{errors:?}");
    }

    #[test]
    fn authenticated_furnisher_wins_and_must_match() {
        let catalogue = Catalogue::default();
        let bank = FurnisherId::new("bank").expect("valid");
        let other = FurnisherId::new("other").expect("valid");
        let map: Map<String, Value> = serde_json::from_str(PAYMENT).expect("test JSON");
        let mut context = ctx(&catalogue);
        context.furnisher = Some(&bank);
        assert!(parse_event(&map, &context).is_ok());
        context.furnisher = Some(&other);
        let errors = parse_event(&map, &context).expect_err("mismatch");
        assert_eq!(errors[0].code, "furnisher_mismatch");
    }

    #[test]
    fn the_fast_path_parses_like_the_general_one() {
        let catalogue = Catalogue::default();
        let fast = parse_json(PAYMENT, &ctx(&catalogue)).expect("valid");
        assert!(fast.same_fact(&parse(PAYMENT).expect("valid")));
        // A wrong type falls back to the general path and is explained.
        let errors = parse_json(&PAYMENT.replace("1200", "\"lots\""), &ctx(&catalogue))
            .expect_err("wrong type");
        assert_eq!(codes(&errors), vec![("amount", "wrong_type")]);
        // Escaped strings cannot be borrowed; they still parse.
        let escaped = PAYMENT.replace(r#""a1""#, r#""a\u0031""#);
        assert!(parse_json(&escaped, &ctx(&catalogue)).is_ok());
        assert_eq!(
            parse_json("[1]", &ctx(&catalogue)).expect_err("array")[0].code,
            "not_an_object"
        );
        assert_eq!(
            parse_json("{", &ctx(&catalogue)).expect_err("broken")[0].code,
            "bad_json"
        );
    }

    #[test]
    fn a_field_given_twice_is_refused() {
        let catalogue = Catalogue::default();
        for (twice, field) in [
            (
                PAYMENT.replace(
                    r#""subject_id":"s1""#,
                    r#""subject_id":"s1","subject_id":"s2""#,
                ),
                "subject_id",
            ),
            (
                PAYMENT.replace(r#""amount":1200"#, r#""amount":1200,"amount":1"#),
                "amount",
            ),
            // The same name spelled with an escape is the same name.
            (
                PAYMENT.replace(
                    r#""subject_id":"s1""#,
                    r#""subject_id":"s1","subject\u005fid":"s2""#,
                ),
                "subject_id",
            ),
            (
                PAYMENT.replace(r#""event_id":"e1""#, r#""event_id":"e1","event_id":"e1""#),
                "event_id",
            ),
        ] {
            let errors = parse_json(&twice, &ctx(&catalogue)).expect_err("refused");
            assert_eq!(errors[0].code, "duplicate_field", "{twice}: {errors:?}");
            assert!(
                errors[0]
                    .reason
                    .contains(&format!("`{field}` appears twice")),
                "{errors:?}"
            );
        }
    }

    #[test]
    fn csv_rows_parse_like_json() {
        let header =
            csv_like::Header::new(FIELDS.iter().map(|s| s.to_string()).collect()).expect("header");
        let mut cells = vec![""; FIELDS.len()];
        for (name, value) in [
            ("furnisher_id", "bank"),
            ("event_id", "e1"),
            ("subject_id", "s1"),
            ("kind", "payment_made"),
            ("occurred_at", "2026-01-05"),
            ("account_id", "a1"),
            ("bill_id", "b1"),
            ("amount", "1200"),
            ("currency", "EUR"),
            ("days_late", "0"),
        ] {
            cells[header.position(name).expect("known")] = value;
        }
        let catalogue = Catalogue::default();
        let from_csv = parse_event(
            &CsvRow {
                header: &header,
                cells: &cells,
            },
            &ctx(&catalogue),
        )
        .expect("valid");
        assert!(from_csv.same_fact(&parse(PAYMENT).expect("valid")));
        assert!(csv_like::Header::new(vec!["kind".into(), "religion".into()]).is_err());
    }
}
