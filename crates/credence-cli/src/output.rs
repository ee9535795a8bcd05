//! Printing for people: progress bars, band charts, score cards.

use credence_scorecard::{Band, ScoreReport, ScoreStatus};
use credence_service::RescoreSummary;
use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn progress(len: u64, what: &str, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let template = format!(
        "{{spinner}} {what:<10} [{{bar:32}}] {{human_pos}}/{{human_len}} {unit} ({{per_sec}}, {{eta}} left)"
    );
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// A byte-based progress bar.
pub fn byte_progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let template = format!(
        "{{spinner}} {what:<10} [{{bar:32}}] {{bytes}}/{{total_bytes}} ({{bytes_per_sec}}, {{eta}} left)"
    );
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Band counts as a small bar chart.
pub fn print_bands(summary: &RescoreSummary) -> std::io::Result<()> {
    let widest = summary.bands.values().copied().max().unwrap_or(0).max(1);
    for band in Band::ALL {
        let count = summary.bands.get(band.name()).copied().unwrap_or(0);
        let share = if summary.scored > 0 {
            100.0 * count as f64 / summary.scored as f64
        } else {
            0.0
        };
        let bar = "#".repeat(((count as f64 / widest as f64) * 40.0).round() as usize);
        let upper = match band {
            Band::Excellent => 950,
            other => Band::ALL[other as usize + 1].floor() - 1,
        };
        outln!(
            "  {:<10} {:>3}–{:<3} {:>8} {:>5.1}%  {bar}",
            band.label(),
            band.floor(),
            upper,
            count,
            share
        )?;
    }
    Ok(())
}

/// A subject's score for people.
pub fn print_report(report: &ScoreReport) -> std::io::Result<()> {
    outln!("Subject {}", report.subject_id)?;
    match report.status {
        ScoreStatus::Scored => {
            let band = report.band.map_or("", |b| b.label());
            outln!(
                "  Score {} ({band}) — probability of default {:.2}%",
                report.score.unwrap_or_default(),
                100.0 * report.pd.unwrap_or_default()
            )?;
        }
        ScoreStatus::NotEnoughData => {
            outln!("  Not enough data to score (this is not a low score). Missing:")?;
            for missing in &report.missing {
                outln!("    - {missing}")?;
            }
        }
    }
    outln!("  Model {} as of {}", report.model_version, report.as_of)?;
    if report.status == ScoreStatus::Scored {
        let dims: Vec<String> = report
            .dimensions
            .iter()
            .map(|(name, value)| {
                format!(
                    "{name} {}",
                    value.map_or("–".to_string(), |v| v.to_string())
                )
            })
            .collect();
        outln!("  Dimensions (0–100): {}", dims.join(", "))?;
        if report.reasons.is_empty() {
            outln!("  Nothing holds this score down.")?;
        } else {
            outln!("  Reasons:")?;
            for reason in &report.reasons {
                outln!(
                    "    {} {} ({:.0} points short)",
                    reason.code,
                    reason.sentence,
                    reason.points_short
                )?;
                outln!("       How to improve: {}", reason.improve)?;
            }
        }
    }
    if !report.negative_records.is_empty() {
        outln!("  Negative records and when they stop counting:")?;
        for record in &report.negative_records {
            outln!(
                "    {} {} (event {}/{}) — stops counting {}",
                record.dated.strftime("%Y-%m-%d"),
                record.description,
                record.event.furnisher_id,
                record.event.event_id,
                record.stops_counting.strftime("%Y-%m-%d")
            )?;
        }
    }
    outln!("  {}", report.note)
}
