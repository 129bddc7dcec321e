//! The request log and per-endpoint counters.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

/// One request the simulator answered (or dropped).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    pub seq: u64,
    /// RFC 3339 time the request arrived.
    pub at: String,
    pub method: String,
    /// The concrete path, without the query string.
    pub path: String,
    /// The route template, e.g. `/api/instances/{slug}`; `None` if no route matched.
    pub template: Option<String>,
    /// The status answered; `None` when the connection was dropped.
    pub status: Option<u16>,
    /// The org the bearer token authenticated as.
    pub org: Option<String>,
    /// The kind of fault injected into this request, if any.
    pub fault: Option<String>,
    pub duration_ms: f64,
}

/// A bounded request log plus unbounded per-endpoint counters.
#[derive(Debug)]
pub(crate) struct Recorder {
    capacity: usize,
    next_seq: u64,
    log: VecDeque<RecordedRequest>,
    counters: BTreeMap<String, u64>,
}

/// The counter key of an endpoint: `"GET /api/instances/{slug}"`.
pub(crate) fn counter_key(method: &str, template: &str) -> String {
    format!("{} {template}", method.to_ascii_uppercase())
}

impl Recorder {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            next_seq: 1,
            log: VecDeque::new(),
            counters: BTreeMap::new(),
        }
    }

    pub fn record(&mut self, mut request: RecordedRequest) {
        request.seq = self.next_seq;
        self.next_seq += 1;
        if let Some(template) = &request.template {
            *self
                .counters
                .entry(counter_key(&request.method, template))
                .or_default() += 1;
        }
        if self.log.len() == self.capacity {
            self.log.pop_front();
        }
        self.log.push_back(request);
    }

    /// Recorded requests with `seq` greater than `after` (0: all kept).
    pub fn requests_after(&self, after: u64) -> Vec<RecordedRequest> {
        // The log is ordered by seq; skip the older part without cloning it.
        let start = self.log.partition_point(|r| r.seq <= after);
        self.log.range(start..).cloned().collect()
    }

    pub fn count(&self, method: &str, template: &str) -> u64 {
        self.counters
            .get(&counter_key(method, template))
            .copied()
            .unwrap_or(0)
    }

    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.counters.clone()
    }

    pub fn clear(&mut self) {
        self.log.clear();
        self.counters.clear();
    }
}
