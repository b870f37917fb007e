//! What the strangler records, per store and route prefix (both bounded by the routing file).

mercato_runtime::metric_families! {
    /// Requests the strangler routed, by store, route prefix and side (legacy or mercato).
    pub(crate) const REQUESTS: Counter(Count) = "strangler_requests_total";
    /// How long each side took to answer (to the response head), client and shadow calls alike,
    /// by store, route prefix and side.
    pub(crate) const SIDE_DURATION: Histogram(Seconds) = "strangler_side_duration_seconds";
    /// Shadow comparisons by store, route prefix and result: same, noise_only, different, error,
    /// skipped (too many running).
    pub(crate) const COMPARISONS: Counter(Count) = "strangler_comparisons_total";
}

/// Registers the help texts (once the recorder is installed).
pub fn describe() {
    mercato_runtime::metric_family::Family::describe_all(&[REQUESTS, SIDE_DURATION, COMPARISONS]);
}
