//! Request ids, per-request logs and Prometheus metrics: one middleware around every route.
//!
//! Each request gets an id: the caller's `x-request-id` when it is short printable ASCII, else a
//! new one; it is echoed in the response, written to the logs and to the audit log. Requests are
//! counted and timed by route template (`/v1/profiles/{customer_id}`, never the raw path, so
//! the label set stays small), method and status.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default, Clone)]
struct Stat {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// One route's statistics by (method, status).
type ByMethodStatus = HashMap<(&'static str, u16), Stat>;

/// Counters and histograms of the service.
#[derive(Default)]
pub struct Metrics {
    /// By route, then (method, status): the route is looked up by `&str`, so counting a
    /// request allocates nothing.
    requests: Mutex<HashMap<Box<str>, ByMethodStatus>>,
    next_id: AtomicU64,
}

/// The id of the request being served (a request extension).
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

fn method_str(m: &axum::http::Method) -> &'static str {
    match *m {
        axum::http::Method::GET => "GET",
        axum::http::Method::POST => "POST",
        axum::http::Method::PUT => "PUT",
        axum::http::Method::DELETE => "DELETE",
        axum::http::Method::HEAD => "HEAD",
        axum::http::Method::OPTIONS => "OPTIONS",
        axum::http::Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

impl Metrics {
    fn observe(&self, route: &str, method: &'static str, status: u16, secs: f64) {
        let mut map = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let by_route = match map.get_mut(route) {
            Some(m) => m,
            None => map.entry(route.into()).or_default(),
        };
        let stat = by_route.entry((method, status)).or_default();
        stat.count += 1;
        stat.sum += secs;
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                stat.buckets[i] += 1;
            }
        }
    }

    fn new_id(&self) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        format!("{pid:x}-{n:08x}")
    }

    /// The metrics in Prometheus text format, with `extra` gauge lines appended.
    pub fn render(&self, extra: &[(&str, &str, f64)]) -> String {
        let map: HashMap<(String, &'static str, u16), Stat> = self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .flat_map(|(route, m)| {
                m.iter()
                    .map(|(&(method, status), s)| ((route.to_string(), method, status), s.clone()))
            })
            .collect();
        let mut keys: Vec<_> = map.keys().cloned().collect();
        keys.sort();
        let mut out = String::new();
        out.push_str(
            "# HELP marque_http_requests_total HTTP requests by route, method and status.\n",
        );
        out.push_str("# TYPE marque_http_requests_total counter\n");
        for k in &keys {
            let _ = writeln!(
                out,
                "marque_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}",
                k.0, k.1, k.2, map[k].count
            );
        }
        out.push_str("# HELP marque_http_request_duration_seconds Time to the response head, by route, method and status.\n");
        out.push_str("# TYPE marque_http_request_duration_seconds histogram\n");
        for k in &keys {
            let s = &map[k];
            let labels = format!("route=\"{}\",method=\"{}\",status=\"{}\"", k.0, k.1, k.2);
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "marque_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "marque_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "marque_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "marque_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        for (name, help, value) in extra {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }
}

fn usable_id(v: &HeaderValue) -> Option<&str> {
    let s = v.to_str().ok()?;
    (!s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic())).then_some(s)
}

/// The middleware: request id, timing, metrics and a debug log line per request.
pub async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id: Arc<str> = match req.headers().get("x-request-id").and_then(usable_id) {
        Some(s) => Arc::from(s),
        None => Arc::from(state.metrics.new_id().as_str()),
    };
    // A clone of the matched path shares its text (an `Arc<str>`): no allocation.
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let method = method_str(req.method());
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut resp = next.run(req).await;
    let secs = started.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    state.metrics.observe(route, method, status, secs);
    tracing::debug!(request_id = %id, method, route, status, micros = (secs * 1e6) as u64, "request");
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_labelled_by_route() {
        let m = Metrics::default();
        m.observe("/v1/profiles/{customer_id}", "GET", 200, 0.0007);
        m.observe("/v1/profiles/{customer_id}", "GET", 200, 0.02);
        let text = m.render(&[("marque_up", "up", 1.0)]);
        assert!(text.contains(
            "marque_http_requests_total{route=\"/v1/profiles/{customer_id}\",method=\"GET\",status=\"200\"} 2"
        ));
        assert!(text.contains("status=\"200\",le=\"0.001\"} 1"), "{text}");
        assert!(text.contains("status=\"200\",le=\"0.025\"} 2"), "{text}");
        assert!(text.contains("marque_up 1"));
    }
}
