//! The wire shapes of rights.

use super::*;

/// A subject's own view of their file.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectView {
    /// The subject.
    pub subject_id: String,
    /// Person or organisation.
    #[schema(value_type = String)]
    pub kind: SubjectKind,
    /// True while partners are refused every answer.
    pub frozen: bool,
    /// True while the subject's separate consent to restricted data
    /// (income, assets, deposits, tax) stands.
    pub restricted_data_consent: bool,
    /// Score, band, dimensions, reasons with how to improve, and every
    /// negative record with the date it stops counting.
    #[schema(value_type = Object)]
    pub report: ScoreReport,
    /// Records the score leaves out because of a dispute.
    pub excluded_under_dispute: Vec<DisputedRecord>,
    /// The subject's statements on their records.
    pub statements: Vec<Statement>,
    /// The ids of the subject's accounts (for the what-if simulator).
    pub accounts: Vec<String>,
    /// What each dimension measures, by name: a description of the
    /// measure, never a verdict on this subject (the reasons say that).
    #[schema(value_type = Object)]
    pub dimension_meanings: BTreeMap<&'static str, &'static str>,
}

/// Attach a statement to one of your records.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatementRequest {
    /// Who reported the record.
    #[schema(pattern = r"^[A-Za-z0-9._:/@-]{1,128}$")]
    pub furnisher_id: String,
    /// The record.
    #[schema(pattern = r"^[A-Za-z0-9._:/@-]{1,128}$")]
    pub event_id: String,
    /// At most 1,000 characters.
    #[schema(min_length = 1, max_length = 1000)]
    pub text: String,
}

/// Ask a person to review an automated decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// Which decision (a perk refused, a score).
    #[schema(min_length = 1, max_length = 200)]
    pub about: String,
    /// What the reviewer should know.
    #[schema(min_length = 1, max_length = 2000)]
    pub message: String,
}

/// One hypothetical change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Scenario {
    /// "If I pay this balance down to X" (minor units).
    PayDown {
        /// The account (one of your records').
        #[schema(pattern = r"^[A-Za-z0-9._:/@-]{1,128}$")]
        account_id: String,
        /// The new balance, minor units, ≥ 0.
        #[schema(minimum = 0)]
        balance: i64,
    },
    /// "If I pay every bill on time for N more months".
    OnTimeMonths {
        /// 1–24.
        #[schema(minimum = 1, maximum = 24)]
        months: u32,
    },
}

/// The result of a what-if.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhatIf {
    /// The score today (none for a thin file).
    pub current_score: Option<i32>,
    /// The projected score.
    pub projected_score: Option<i32>,
    /// Projected minus current, when both exist.
    pub change: Option<i32>,
    /// The projected band: `poor`, `fair`, `good`, `very_good` or `excellent`.
    pub projected_band: Option<String>,
    /// The date the projection is for.
    pub as_of: String,
    /// A reminder that this is a projection.
    pub note: &'static str,
}

/// One entry of "who looked at my data".
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessEntry {
    /// When.
    pub at: String,
    /// Who (`partner:bikes`, `operator:…`, `subject` for yourself).
    pub who: String,
    /// What (`partner.check`, `read.report`, `consent.grant`…).
    pub what: String,
    /// Why and with what outcome.
    pub why: String,
}

/// A notice of a negative record.
#[derive(Debug, Serialize, ToSchema)]
pub struct Notice {
    /// When the record arrived.
    pub received_at: String,
    /// Who reported it.
    pub furnisher_id: String,
    /// The record.
    pub event_id: String,
    /// What it says.
    pub message: String,
}

/// One score of a subject's history, as the subject reads it: dimensions
/// by name and the band spelt as everywhere else in the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScorePoint {
    /// The instant the score is as of (RFC 3339).
    pub as_of: String,
    /// `model_id@version` of the model that made it.
    pub model_version: String,
    /// `scored` or `not_enough_data`.
    #[schema(value_type = String)]
    pub status: ScoreStatus,
    /// 350–950 when scored.
    pub score: Option<i32>,
    /// The band: `poor`, `fair`, `good`, `very_good` or `excellent`.
    #[schema(value_type = Option<String>)]
    pub band: Option<Band>,
    /// Probability of default when scored.
    pub pd: Option<f64>,
    /// The five dimensions by name (`history`, `capacity`, `behaviour`,
    /// `identity`, `fulfilment`), 0–100 each, `null` where nothing speaks
    /// to it.
    #[schema(value_type = Object)]
    pub dimensions: BTreeMap<&'static str, Option<u8>>,
    /// Reason codes, most important first.
    pub reasons: Vec<String>,
}

/// Everything Credence holds about a subject.
#[derive(Debug, Serialize, ToSchema)]
pub struct Export {
    /// When exported.
    pub exported_at: String,
    /// The subject's own view.
    pub view: SubjectView,
    /// Every record, in the wire format furnishers use.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<serde_json::Value>,
    /// Every stored score, oldest first.
    pub score_history: Vec<ScorePoint>,
    /// Consents given.
    pub consents: Vec<Consent>,
    /// Disputes.
    pub disputes: Vec<Dispute>,
    /// Review requests.
    pub reviews: Vec<Review>,
    /// Notices of negative records.
    pub notices: Vec<Notice>,
    /// Who looked.
    pub access_log: Vec<AccessEntry>,
}

impl From<platform::SubjectView> for SubjectView {
    fn from(value: platform::SubjectView) -> Self {
        Self {
            subject_id: value.subject_id,
            kind: value.kind,
            frozen: value.frozen,
            restricted_data_consent: value.restricted_data_consent,
            report: value.report,
            excluded_under_dispute: value
                .excluded_under_dispute
                .into_iter()
                .map(Into::into)
                .collect(),
            statements: value.statements.into_iter().map(Into::into).collect(),
            accounts: value.accounts,
            dimension_meanings: value.dimension_meanings,
        }
    }
}

impl From<StatementRequest> for platform::StatementRequest {
    fn from(value: StatementRequest) -> Self {
        Self {
            furnisher_id: value.furnisher_id,
            event_id: value.event_id,
            text: value.text,
        }
    }
}

impl From<ReviewRequest> for platform::ReviewRequest {
    fn from(value: ReviewRequest) -> Self {
        Self {
            about: value.about,
            message: value.message,
        }
    }
}

impl From<Scenario> for platform::Scenario {
    fn from(value: Scenario) -> Self {
        match value {
            Scenario::PayDown {
                account_id,
                balance,
            } => Self::PayDown {
                account_id,
                balance,
            },
            Scenario::OnTimeMonths { months } => Self::OnTimeMonths { months },
        }
    }
}

impl From<platform::WhatIf> for WhatIf {
    fn from(value: platform::WhatIf) -> Self {
        Self {
            current_score: value.current_score,
            projected_score: value.projected_score,
            change: value.change,
            projected_band: value.projected_band,
            as_of: value.as_of,
            note: value.note,
        }
    }
}

impl From<platform::AccessEntry> for AccessEntry {
    fn from(value: platform::AccessEntry) -> Self {
        Self {
            at: value.at,
            who: value.who,
            what: value.what,
            why: value.why,
        }
    }
}

impl From<platform::Notice> for Notice {
    fn from(value: platform::Notice) -> Self {
        Self {
            received_at: value.received_at,
            furnisher_id: value.furnisher_id,
            event_id: value.event_id,
            message: value.message,
        }
    }
}

impl From<platform::ScorePoint> for ScorePoint {
    fn from(value: platform::ScorePoint) -> Self {
        Self {
            as_of: value.as_of,
            model_version: value.model_version,
            status: value.status,
            score: value.score,
            band: value.band,
            pd: value.pd,
            dimensions: value.dimensions,
            reasons: value.reasons,
        }
    }
}

impl From<platform::Export> for Export {
    fn from(value: platform::Export) -> Self {
        Self {
            exported_at: value.exported_at,
            view: value.view.into(),
            events: value.events,
            score_history: value.score_history.into_iter().map(Into::into).collect(),
            consents: value.consents.into_iter().map(Into::into).collect(),
            disputes: value.disputes.into_iter().map(Into::into).collect(),
            reviews: value.reviews.into_iter().map(Into::into).collect(),
            notices: value.notices.into_iter().map(Into::into).collect(),
            access_log: value.access_log.into_iter().map(Into::into).collect(),
        }
    }
}
