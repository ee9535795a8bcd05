//! Prometheus counters, written by hand: a handful of counters in the text
//! exposition format does not justify a metrics framework's dependencies.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Latency bucket bounds, in seconds.
const BUCKETS: [f64; 8] = [0.001, 0.002, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5];

#[derive(Default)]
struct Series {
    count: u64,
    seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Requests by route and status, with latency histograms by route.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, &'static str, u16), u64>>,
    latency: Mutex<BTreeMap<String, Series>>,
    in_flight: AtomicU64,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// A request started.
    pub fn start(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// A request finished.
    pub fn finish(&self, route: &str, method: &'static str, status: u16, seconds: f64) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        if let Ok(mut requests) = self.requests.lock() {
            *requests
                .entry((route.to_string(), method, status))
                .or_default() += 1;
        }
        if let Ok(mut latency) = self.latency.lock() {
            let series = latency.entry(route.to_string()).or_default();
            series.count += 1;
            series.seconds += seconds;
            for (bucket, bound) in series.buckets.iter_mut().zip(BUCKETS) {
                if seconds <= bound {
                    *bucket += 1;
                }
            }
        }
    }

    /// The Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP credence_http_requests_total HTTP requests by route, method and status.\n",
        );
        out.push_str("# TYPE credence_http_requests_total counter\n");
        if let Ok(requests) = self.requests.lock() {
            for ((route, method, status), count) in requests.iter() {
                let _ = writeln!(
                    out,
                    "credence_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {count}"
                );
            }
        }
        out.push_str("# HELP credence_http_request_duration_seconds Request latency by route.\n");
        out.push_str("# TYPE credence_http_request_duration_seconds histogram\n");
        if let Ok(latency) = self.latency.lock() {
            for (route, series) in latency.iter() {
                for (bound, count) in BUCKETS.iter().zip(series.buckets) {
                    let _ = writeln!(
                        out,
                        "credence_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                    );
                }
                let _ = writeln!(
                    out,
                    "credence_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    series.count
                );
                let _ = writeln!(
                    out,
                    "credence_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    series.seconds
                );
                let _ = writeln!(
                    out,
                    "credence_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    series.count
                );
            }
        }
        out.push_str("# HELP credence_http_in_flight Requests being served.\n# TYPE credence_http_in_flight gauge\n");
        let _ = writeln!(
            out,
            "credence_http_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        out
    }
}
