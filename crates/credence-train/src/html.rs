//! The validation report as one self-contained HTML file: tables and inline
//! SVG charts, no scripts, fonts or requests to anywhere.

use crate::fit::TrainReport;
use credence_scorecard::Scorecard;
use std::fmt::Write;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// At most `limit` points, evenly picked, keeping the last.
fn thin<T: Copy>(points: &[T], limit: usize) -> Vec<T> {
    if points.len() <= limit {
        return points.to_vec();
    }
    let step = points.len() as f64 / limit as f64;
    let mut out: Vec<T> = (0..limit)
        .map(|i| points[(i as f64 * step) as usize])
        .collect();
    if let Some(last) = points.last() {
        out.push(*last);
    }
    out
}

const W: f64 = 320.0;
const H: f64 = 240.0;
const PAD: f64 = 36.0;

fn frame(title: &str, description: &str, body: &str, x_label: &str, y_label: &str) -> String {
    format!(
        r##"<figure><svg viewBox="0 0 {w} {h}" role="img" aria-labelledby="t-{id} d-{id}" width="{w}" height="{h}">
<title id="t-{id}">{title}</title><desc id="d-{id}">{description}</desc>
<rect x="{p}" y="8" width="{iw}" height="{ih}" fill="none" stroke="#999"/>
{body}
<text x="{cx}" y="{by}" text-anchor="middle" class="axis">{x_label}</text>
<text x="10" y="{cy}" text-anchor="middle" class="axis" transform="rotate(-90 10 {cy})">{y_label}</text>
</svg><figcaption>{title}</figcaption></figure>"##,
        w = W,
        h = H,
        p = PAD,
        iw = W - PAD - 8.0,
        ih = H - PAD - 8.0,
        cx = PAD + (W - PAD - 8.0) / 2.0,
        by = H - 6.0,
        cy = 8.0 + (H - PAD - 8.0) / 2.0,
        id = escape(&title.to_lowercase().replace(' ', "-")),
        title = escape(title),
        description = escape(description),
    )
}

fn x_of(fraction: f64) -> f64 {
    PAD + fraction * (W - PAD - 8.0)
}

fn y_of(fraction: f64) -> f64 {
    8.0 + (1.0 - fraction) * (H - PAD - 8.0)
}

fn polyline(points: &[(f64, f64)], class: &str) -> String {
    let coordinates: Vec<String> = points
        .iter()
        .map(|(x, y)| format!("{:.1},{:.1}", x_of(*x), y_of(*y)))
        .collect();
    format!(
        r#"<polyline class="{class}" fill="none" points="{}"/>"#,
        coordinates.join(" ")
    )
}

fn roc_chart(report: &TrainReport) -> String {
    let points = thin(&report.curves.roc, 200);
    let auc = report.test.unwrap_or(report.train).auc;
    let body = format!(
        "{}{}",
        polyline(&[(0.0, 0.0), (1.0, 1.0)], "chance"),
        polyline(&points, "bad")
    );
    frame(
        "ROC curve",
        &format!("True-positive rate against false-positive rate; area under the curve {auc:.3}."),
        &body,
        "false-positive rate",
        "true-positive rate",
    )
}

fn ks_chart(report: &TrainReport) -> String {
    let ks = &report.curves.ks;
    let (Some(first), Some(last)) = (ks.first(), ks.last()) else {
        return String::new();
    };
    let span = f64::from((last.0 - first.0).max(1));
    let fx = |s: i32| f64::from(s - first.0) / span;
    let points = thin(ks, 200);
    let bads: Vec<(f64, f64)> = points.iter().map(|(s, b, _)| (fx(*s), *b)).collect();
    let goods: Vec<(f64, f64)> = points.iter().map(|(s, _, g)| (fx(*s), *g)).collect();
    let gap = ks
        .iter()
        .max_by(|a, b| (a.1 - a.2).abs().total_cmp(&(b.1 - b.2).abs()))
        .copied();
    let marker = gap.map_or(String::new(), |(s, b, g)| {
        format!(
            r#"<line class="gap" x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}"/>"#,
            y_of(b),
            y_of(g),
            x = x_of(fx(s))
        )
    });
    let body = format!(
        "{}{}{}",
        polyline(&bads, "bad"),
        polyline(&goods, "good"),
        marker
    );
    let ks_value = report.test.unwrap_or(report.train).ks;
    frame(
        "KS curve",
        &format!(
            "Cumulative shares of bads and goods by score from {} to {}; largest gap {ks_value:.3}.",
            first.0, last.0
        ),
        &body,
        &format!("score ({}–{})", first.0, last.0),
        "cumulative share",
    )
}

fn distribution_chart(report: &TrainReport) -> String {
    let buckets = &report.curves.distribution;
    if buckets.is_empty() {
        return String::new();
    }
    let goods: usize = buckets.iter().map(|b| b.1).sum::<usize>().max(1);
    let bads: usize = buckets.iter().map(|b| b.2).sum::<usize>().max(1);
    let top = buckets
        .iter()
        .map(|b| (b.1 as f64 / goods as f64).max(b.2 as f64 / bads as f64))
        .fold(0.0, f64::max)
        .max(1e-9);
    let width = 1.0 / buckets.len() as f64;
    let mut body = String::new();
    for (i, (_, g, b)) in buckets.iter().enumerate() {
        for (share, class, offset) in [
            (*g as f64 / goods as f64, "good", 0.0),
            (*b as f64 / bads as f64, "bad", 0.5),
        ] {
            let x = x_of((i as f64 + offset) * width);
            let height = share / top;
            let _ = write!(
                body,
                r#"<rect class="{class}" x="{x:.1}" y="{:.1}" width="{:.1}" height="{:.1}"/>"#,
                y_of(height),
                (x_of(width / 2.0) - x_of(0.0)).max(1.0),
                y_of(0.0) - y_of(height)
            );
        }
    }
    let (low, high) = (buckets[0].0, buckets[buckets.len() - 1].0 + 25);
    frame(
        "Score distribution",
        &format!("Shares of goods and of bads in 25-point score buckets from {low} to {high}."),
        &body,
        &format!("score ({low}–{high})"),
        "share",
    )
}

/// The settings the model was trained with, as a small table.
fn settings_table(settings: &crate::TrainSettings) -> String {
    let named = |map: &std::collections::BTreeMap<String, String>| {
        if map.is_empty() {
            "none".to_string()
        } else {
            map.iter()
                .map(|(name, value)| format!("{name}: {value}"))
                .collect::<Vec<_>>()
                .join("; ")
        }
    };
    let trend = |t: &crate::Trend| {
        match t {
            crate::Trend::Auto => "monotone (rising or falling, whichever informs more)",
            crate::Trend::Ascending => "rising",
            crate::Trend::Descending => "falling",
            crate::Trend::Peak => "peaked",
            crate::Trend::Valley => "valley-shaped",
            crate::Trend::AutoWithPeaks => {
                "the most informative of rising, falling, peaked and valley-shaped"
            }
        }
        .to_string()
    };
    let specials = settings
        .special_values
        .iter()
        .map(|(name, values)| {
            let listed: Vec<String> = values.iter().map(|v| format!("{v}")).collect();
            (name.clone(), listed.join(", "))
        })
        .collect();
    let trends = settings
        .trends
        .iter()
        .map(|(name, t)| (name.clone(), trend(t)))
        .collect();
    let rows = [
        (
            "binning",
            format!(
                "{} pre-bins (at most {}), then the optimal grouping; event-rate trend: {}",
                prebinning_name(&settings.prebinning),
                settings.max_prebins,
                trend(&settings.trend)
            ),
        ),
        (
            "bin sizes",
            format!(
                "ranges at least {}% of rows; levels of flags, codes and categories kept unless under {}% or {} rows",
                100.0 * settings.min_bin_share,
                100.0 * settings.rare_share,
                settings.min_level_rows
            ),
        ),
        ("trends imposed", named(&trends)),
        ("special values", named(&specials)),
        (
            "selection",
            format!(
                "information value at least {}; WOE correlation at most {}{}",
                settings.min_iv,
                settings.max_correlation,
                settings.stepwise.map_or(String::new(), |s| format!(
                    "; stepwise (enter p < {}, stay p <= {})",
                    s.entry, s.stay
                ))
            ),
        ),
        (
            "regression",
            format!("L2 logistic, lambda {}", settings.lambda),
        ),
        (
            "absent inputs",
            if settings.neutral_missing {
                "score as average".to_string()
            } else {
                "score by the bads among training rows that lacked them".to_string()
            },
        ),
        ("fairness cut-off", settings.cutoff.to_string()),
    ];
    let mut table = String::from("<h2>Settings</h2><table>");
    for (name, value) in rows {
        let _ = write!(
            table,
            "<tr><th>{}</th><td style=\"text-align:left\">{}</td></tr>",
            escape(name),
            escape(&value)
        );
    }
    table.push_str("</table>");
    table
}

fn prebinning_name(prebinning: &crate::Prebinning) -> &'static str {
    match prebinning {
        crate::Prebinning::Tree => "decision-tree",
        crate::Prebinning::Quantile => "quantile",
    }
}

/// The report of a training run as a self-contained HTML page.
pub fn report_html(report: &TrainReport, model: &Scorecard) -> String {
    let mut page = String::new();
    let _ = write!(
        page,
        r##"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Validation report — {tag}</title>
<style>
body{{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1a1a1a;line-height:1.45}}
table{{border-collapse:collapse;margin:.5rem 0 1.5rem}}th,td{{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}}th:first-child,td:first-child{{text-align:left}}
th{{background:#f2f2f2}}figure{{display:inline-block;margin:0 1rem 1rem 0}}figcaption{{font-size:.9rem;color:#444}}
.axis{{font-size:10px;fill:#444}}polyline{{fill:none;stroke-width:2}}polyline.bad{{stroke:#b3261e}}polyline.good{{stroke:#1b5e20}}
.chance{{stroke:#999;stroke-dasharray:4 3}}.gap{{stroke:#000;stroke-width:1.5}}rect.bad{{fill:#b3261e;fill-opacity:.75}}rect.good{{fill:#1b5e20;fill-opacity:.75}}
.key-bad{{color:#b3261e;font-weight:600}}.key-good{{color:#1b5e20;font-weight:600}}
.warn{{color:#b3261e;font-weight:600}}
</style></head><body>
<h1>Validation report</h1>
<p>Model <strong>{tag}</strong> — {note}</p>
<p>Checksum <code>{checksum}</code></p>
{settings}
<h2>Discrimination</h2>
<table><tr><th>sample</th><th>rows</th><th>bad rate</th><th>AUC</th><th>Gini</th><th>KS</th></tr>"##,
        tag = escape(&model.version_tag()),
        note = escape(&model.origin.note),
        checksum = escape(&model.checksum),
        settings = settings_table(&report.settings),
    );
    let mut samples = vec![("train", report.train)];
    samples.extend(report.test.map(|m| ("test", m)));
    for (name, m) in samples {
        let _ = write!(
            page,
            "<tr><td>{name}</td><td>{}</td><td>{:.1}%</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td></tr>",
            m.rows,
            100.0 * m.bad_rate,
            m.auc,
            m.gini,
            m.ks
        );
    }
    page.push_str("</table>");
    page.push_str("<p>Charts: <span class=\"key-bad\">bads</span> and <span class=\"key-good\">goods</span>, on the validation rows.</p>");
    page.push_str(&roc_chart(report));
    page.push_str(&ks_chart(report));
    page.push_str(&distribution_chart(report));
    if let Some(psi) = report.psi_train_to_test {
        let verdict = if psi < 0.1 {
            "stable"
        } else if psi < 0.25 {
            "some shift"
        } else {
            "material shift"
        };
        let _ = write!(
            page,
            "<h2>Stability</h2><p>Population stability index, test scores against training scores: <strong>{psi:.4}</strong> ({verdict}).</p>"
        );
    }
    if let Some(shift) = &report.population {
        let verdict = |index: f64| {
            if index < 0.1 {
                "stable"
            } else if index < 0.25 {
                "some shift"
            } else {
                "material shift"
            }
        };
        let _ = write!(
            page,
            "<p>Later scoring population <code>{}</code> ({} rows) against the development sample ({} rows): PSI <strong>{:.4}</strong> ({}).</p>",
            escape(&shift.file),
            shift.rows,
            shift.reference_rows,
            shift.psi,
            verdict(shift.psi)
        );
        page.push_str("<p>Which inputs moved: the characteristic stability index of each model input over its bins, least stable first.</p><table><tr><th>input</th><th>CSI</th><th></th></tr>");
        for input in &shift.inputs {
            let _ = write!(
                page,
                "<tr><td>{}</td><td>{:.4}</td><td>{}</td></tr>",
                escape(&input.name),
                input.csi,
                verdict(input.csi)
            );
        }
        page.push_str("</table>");
    }
    page.push_str("<h2>Calibration by band</h2><table><tr><th>band</th><th>rows</th><th>observed bad rate</th><th>predicted bad rate</th></tr>");
    for band in &report.calibration {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{:.2}%</td><td>{:.2}%</td></tr>",
            band.band.label(),
            band.count,
            100.0 * band.observed_bad_rate,
            100.0 * band.predicted_bad_rate
        );
    }
    page.push_str("</table>");
    if !report.fairness.is_empty() {
        page.push_str("<h2>Fairness by audit column</h2>");
        for fairness in &report.fairness {
            let _ = write!(
                page,
                "<h3>{} — approved at {}+: four-fifths rule {}</h3><table><tr><th>group</th><th>rows</th><th>bad rate</th><th>approval rate</th><th>adverse-impact ratio</th><th>AUC</th></tr>",
                escape(&fairness.column),
                fairness.cutoff,
                if fairness.met() {
                    "met".to_string()
                } else {
                    format!(
                        "<span class=\"warn\">{}</span>",
                        escape(&fairness.verdict())
                    )
                }
            );
            for group in &fairness.groups {
                let _ = write!(
                    page,
                    "<tr><td>{}</td><td>{}</td><td>{:.1}%</td><td>{:.1}%</td><td>{:.2}</td><td>{}</td></tr>",
                    escape(&group.group),
                    group.count,
                    100.0 * group.bad_rate,
                    100.0 * group.approval_rate,
                    group.adverse_impact_ratio,
                    group.auc.map_or("–".to_string(), |a| format!("{a:.3}"))
                );
            }
            page.push_str("</table>");
        }
    }
    page.push_str("<h2>Inputs and their bins</h2>");
    for input in &report.inputs {
        let _ = write!(
            page,
            "<h3>{} — IV {:.4} — {}</h3><table><tr><th>bin</th><th>rows</th><th>event rate</th><th>WOE</th><th>points</th></tr>",
            escape(&input.name),
            input.iv,
            escape(&input.status)
        );
        for bin in &input.bins {
            let _ = write!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{:.2}%</td><td>{:.4}</td><td>{:.2}</td></tr>",
                escape(&bin.bin),
                bin.count,
                100.0 * bin.event_rate,
                bin.woe,
                bin.points
            );
        }
        page.push_str("</table>");
    }
    page.push_str("</body></html>\n");
    page
}
