//! Scoring: one subject with its reasons, or everyone in bounded memory.

use crate::platform::disputes;
use crate::{Config, Error, Result};
use credence_domain::{Event, Subject, SubjectId, SubjectKind, SubjectState};
use credence_features::{FeatureEngine, FeatureSet, Policy, SubjectLog, negative_records};
use credence_scorecard::{
    Band, CompiledScorecard, ScoreReport, ScoreSummary, Scorecard, default_model,
};
use credence_store::{HashRange, Store, StoredScore};
use jiff::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::mpsc;

/// Subjects read from the store per page during a rescore.
const PAGE: usize = 512;
/// Threads reading (and decoding) subjects during a rescore: decoding is the
/// heaviest stage, so it gets two while scoring and writing get one each.
const READERS: usize = 2;
/// Scores written per transaction during a rescore.
const WRITE_BATCH: usize = 8_192;

/// The models in force and the policy they are applied under.
#[derive(Debug, Clone)]
pub struct Scorer {
    person: CompiledScorecard,
    organisation: CompiledScorecard,
    policy: Policy,
}

/// One row of an explanation: what an input was and what it scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExplainRow {
    /// The input.
    pub feature: String,
    /// Its dimension.
    pub dimension: String,
    /// Its value (`null` when missing).
    pub value: Option<f64>,
    /// The bin it fell in, as an interval or "missing".
    pub bin: String,
    /// Points of that bin.
    pub points: f64,
    /// Points of the input's best bin.
    pub best_points: f64,
}

/// The scorecard rows behind a score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The subject.
    pub subject_id: String,
    /// `model_id@version`.
    pub model_version: String,
    /// Points every subject starts from.
    pub base_points: f64,
    /// One row per model input.
    pub rows: Vec<ExplainRow>,
    /// Base plus every row's points, before rounding and clamping.
    pub total_points: f64,
    /// The score (`null` for a thin file).
    pub score: Option<i32>,
    /// What a thin file is missing.
    pub missing: Vec<String>,
    /// The instant it is as of.
    pub as_of: String,
}

/// What a rescore did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RescoreSummary {
    /// Subjects visited.
    pub subjects: u64,
    /// Subjects given a score.
    pub scored: u64,
    /// Subjects with "not enough data".
    pub not_enough_data: u64,
    /// Scored subjects per band.
    pub bands: BTreeMap<&'static str, u64>,
    /// Mean score of the scored.
    pub mean_score: Option<f64>,
    /// The instant it is as of.
    pub as_of: String,
}

impl Scorer {
    /// Models for persons and organisations under `policy`.
    pub fn new(person: Scorecard, organisation: Scorecard, policy: Policy) -> Result<Self> {
        for (model, kind) in [
            (&person, SubjectKind::Person),
            (&organisation, SubjectKind::Organisation),
        ] {
            if model.subject_kind.is_some_and(|k| k != kind) {
                return Err(Error::Config(format!(
                    "model {} scores {}s but is configured for {}s",
                    model.version_tag(),
                    model.subject_kind.map_or("?", |k| k.name()),
                    kind.name()
                )));
            }
        }
        Ok(Self {
            person: CompiledScorecard::for_event_features(person)?,
            organisation: CompiledScorecard::for_event_features(organisation)?,
            policy,
        })
    }

    /// The models a configuration names (built-in defaults otherwise).
    pub fn from_config(config: &Config) -> Result<Self> {
        let load = |path: &Option<std::path::PathBuf>, kind| -> Result<Scorecard> {
            match path {
                None => Ok(default_model(kind)?),
                Some(path) => {
                    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
                        path: path.display().to_string(),
                        source,
                    })?;
                    Scorecard::from_json(&text)
                        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))
                }
            }
        };
        Self::new(
            load(&config.models.person, SubjectKind::Person)?,
            load(&config.models.organisation, SubjectKind::Organisation)?,
            config.policy.clone(),
        )
    }

    /// The model for a kind of subject.
    pub fn model(&self, kind: SubjectKind) -> &CompiledScorecard {
        match kind {
            SubjectKind::Person => &self.person,
            SubjectKind::Organisation => &self.organisation,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// A feature engine for this scorer's policy.
    pub fn engine(&self) -> FeatureEngine {
        FeatureEngine::new(self.policy.clone())
    }

    /// Features and, unless the file is thin, the score summary.
    pub fn assess(
        &self,
        engine: &mut FeatureEngine,
        log: &SubjectLog,
        as_of: Timestamp,
    ) -> (FeatureSet, Option<ScoreSummary>) {
        let features = engine.compute(log, as_of);
        let summary = features.thin.is_none().then(|| {
            self.model(log.subject().kind)
                .score_features(&features.values)
        });
        (features, summary)
    }

    /// A subject and the events of theirs that count: every one but those a
    /// dispute leaves out, the rule every score follows.
    fn load(&self, store: &dyn Store, id: &SubjectId) -> Result<(Subject, Vec<Event>)> {
        let subject = store
            .subject(id)?
            .ok_or_else(|| Error::UnknownSubject(id.to_string()))?;
        let events = store.subject_events(id)?;
        let disputes = disputes::stored_of(store, id)?;
        let counted = disputes::counted(&events, &disputes).into_owned();
        Ok((subject, counted))
    }

    /// The full report of one subject as of `as_of`, leaving out records
    /// under dispute.
    pub fn report(
        &self,
        store: &dyn Store,
        id: &SubjectId,
        as_of: Timestamp,
    ) -> Result<ScoreReport> {
        let (subject, events) = self.load(store, id)?;
        self.report_events(subject, &events, as_of)
    }

    /// `log` without the records `disputes` leave out.
    fn counted_log(
        &self,
        store: &dyn Store,
        log: &SubjectLog,
        disputes: &[disputes::Dispute],
    ) -> Result<SubjectLog> {
        let subject = log.subject().clone();
        let events = store.subject_events(&subject.id)?;
        let counted = disputes::counted(&events, disputes);
        SubjectLog::from_events(subject, &counted).map_err(|e| Error::Input(e.to_string()))
    }

    /// The full report of a subject from its events (in canonical order).
    pub fn report_events(
        &self,
        subject: Subject,
        events: &[Event],
        as_of: Timestamp,
    ) -> Result<ScoreReport> {
        let log =
            SubjectLog::from_events(subject, events).map_err(|e| Error::Input(e.to_string()))?;
        let (features, summary) = self.assess(&mut self.engine(), &log, as_of);
        let negatives = negative_records(&log, events, as_of, &self.policy)
            .map_err(|e| Error::Input(e.to_string()))?;
        Ok(ScoreReport::build(
            self.model(log.subject().kind),
            log.subject().id.as_str(),
            as_of,
            &features,
            summary.as_ref(),
            negatives,
        ))
    }

    /// The scorecard rows behind one subject's score.
    pub fn explain(
        &self,
        store: &dyn Store,
        id: &SubjectId,
        as_of: Timestamp,
    ) -> Result<Explanation> {
        let (subject, events) = self.load(store, id)?;
        let kind = subject.kind;
        let log =
            SubjectLog::from_events(subject, &events).map_err(|e| Error::Input(e.to_string()))?;
        let (features, summary) = self.assess(&mut self.engine(), &log, as_of);
        let compiled = self.model(kind);
        let model = compiled.model();
        let values = features.values.values();
        let slots: Vec<usize> = compiled.slots().collect();
        let bins = compiled.bins(|slot| {
            values[slot].map_or(
                credence_scorecard::Input::Missing,
                credence_scorecard::Input::Number,
            )
        });
        let rows: Vec<ExplainRow> = model
            .features
            .iter()
            .zip(bins)
            .zip(slots)
            .map(|((feature, bin), slot)| {
                let chosen = &feature.bins[bin as usize];
                ExplainRow {
                    feature: feature.name.clone(),
                    dimension: feature.dimension.name().to_string(),
                    value: values[slot],
                    bin: chosen.rule.describe(),
                    points: chosen.points,
                    best_points: feature
                        .bins
                        .iter()
                        .map(|b| b.points)
                        .fold(f64::MIN, f64::max),
                }
            })
            .collect();
        let total_points = model.base_points + rows.iter().map(|r| r.points).sum::<f64>();
        Ok(Explanation {
            subject_id: id.to_string(),
            model_version: model.version_tag(),
            base_points: model.base_points,
            rows,
            total_points,
            score: summary.map(|s| s.score),
            missing: features
                .thin
                .map(|t| t.reasons.iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
            as_of: as_of.to_string(),
        })
    }

    /// Scores every subject of `range` (of the subject hash: several
    /// machines can each take one) as of `as_of` and stores the scores:
    /// readers decode disjoint parts of the range, one thread scores, one
    /// writes, and only a bounded number of pages is ever in flight, so
    /// memory does not grow with the number of subjects. `progress` gets
    /// the number of subjects done so far.
    pub fn rescore(
        &self,
        store: &dyn Store,
        range: HashRange,
        as_of: Timestamp,
        computed_at: Timestamp,
        progress: &mut dyn FnMut(u64),
    ) -> Result<RescoreSummary> {
        let excluding = disputes::stored_excluding(store)?;
        let (page_tx, page_rx) = mpsc::sync_channel::<Vec<SubjectLog>>(2 * READERS);
        let (score_tx, score_rx) = mpsc::sync_channel::<Vec<StoredScore>>(2);
        let mut summary = RescoreSummary {
            as_of: as_of.to_string(),
            ..RescoreSummary::default()
        };
        let mut total_score = 0i64;
        let ranges = range.split(READERS);
        std::thread::scope(|scope| -> Result<()> {
            let readers: Vec<_> = ranges
                .into_iter()
                .map(|range| {
                    let page_tx = page_tx.clone();
                    std::thread::Builder::new()
                        .name("rescore-read".into())
                        .spawn_scoped(scope, move || -> Result<()> {
                            let mut cursor = None;
                            loop {
                                let mut page = Vec::with_capacity(PAGE);
                                cursor = store.scan_logs(range, cursor, PAGE, &mut page)?;
                                if !page.is_empty() && page_tx.send(page).is_err() {
                                    return Ok(()); // the scorer stopped; its error is reported
                                }
                                if cursor.is_none() {
                                    return Ok(());
                                }
                            }
                        })
                })
                .collect::<std::io::Result<Vec<_>>>()
                .map_err(|e| Error::Input(format!("cannot start a rescore thread: {e}")))?;
            drop(page_tx);
            let writer = std::thread::Builder::new()
                .name("rescore-write".into())
                .spawn_scoped(scope, move || -> Result<()> {
                    // Fewer, larger commits: each commit costs a WAL frame
                    // header and a checkpoint check, whatever its size.
                    let mut batch: Vec<StoredScore> = Vec::with_capacity(WRITE_BATCH);
                    for scores in score_rx {
                        batch.extend(scores);
                        if batch.len() >= WRITE_BATCH {
                            store.put_scores(&batch)?;
                            batch.clear();
                        }
                    }
                    if !batch.is_empty() {
                        store.put_scores(&batch)?;
                    }
                    Ok(())
                })
                .map_err(|e| Error::Input(format!("cannot start a rescore thread: {e}")))?;
            let mut engine = self.engine();
            let mut scoring = Ok(());
            'pages: for page in page_rx {
                let mut scores = Vec::with_capacity(page.len());
                for log in &page {
                    // Tombstones are not scored.
                    if log.subject().state != SubjectState::Enrolled {
                        continue;
                    }
                    // A file with a record under dispute is scored without
                    // it, as on every other path (the rare slow path).
                    let counted;
                    let log = match excluding.get(&log.subject().id) {
                        None => log,
                        Some(disputes) => match self.counted_log(store, log, disputes) {
                            Ok(log) => {
                                counted = log;
                                &counted
                            }
                            Err(e) => {
                                scoring = Err(e);
                                break 'pages;
                            }
                        },
                    };
                    let (_, result) = self.assess(&mut engine, log, as_of);
                    let model = self.model(log.subject().kind);
                    summary.subjects += 1;
                    match &result {
                        Some(s) => {
                            summary.scored += 1;
                            total_score += i64::from(s.score);
                            *summary.bands.entry(s.band().name()).or_default() += 1;
                        }
                        None => summary.not_enough_data += 1,
                    }
                    scores.push(stored_score(
                        model,
                        &log.subject().id,
                        as_of,
                        computed_at,
                        result.as_ref(),
                    ));
                }
                progress(summary.subjects);
                if score_tx.send(scores).is_err() {
                    break; // the writer failed; its error is reported
                }
            }
            drop(score_tx);
            let mut read = scoring;
            for reader in readers {
                let result = reader
                    .join()
                    .map_err(|_| Error::Input("a reading thread panicked".into()))?;
                read = read.and(result);
            }
            let written = writer
                .join()
                .map_err(|_| Error::Input("the writing thread panicked".into()))?;
            read.and(written)
        })?;
        for band in Band::ALL {
            summary.bands.entry(band.name()).or_default();
        }
        summary.mean_score =
            (summary.scored > 0).then(|| total_score as f64 / summary.scored as f64);
        Ok(summary)
    }
}

/// The stored form of a score.
pub fn stored_score(
    model: &CompiledScorecard,
    id: &SubjectId,
    as_of: Timestamp,
    computed_at: Timestamp,
    summary: Option<&ScoreSummary>,
) -> StoredScore {
    let scorecard = model.model();
    StoredScore {
        subject_id: id.clone(),
        as_of,
        model_version: scorecard.version_tag(),
        scored: summary.is_some(),
        score: summary.map(|s| s.score),
        pd: summary.map(|s| s.pd),
        dimensions: summary.map_or([None; 5], |s| s.dimensions),
        reasons: summary
            .map(|s| {
                s.reasons
                    .iter()
                    .flatten()
                    .map(|&i| scorecard.features[i as usize].reason_code.clone())
                    .collect()
            })
            .unwrap_or_default(),
        computed_at,
    }
}
