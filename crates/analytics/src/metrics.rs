//! The service's metric families (dashboards: deploy/grafana; alerts: deploy/prometheus).

use mercato_runtime::metric_family::Family;

mercato_runtime::metric_families! {
    /// Events analytics applied (first deliveries), by subject.
    pub(crate) const EVENTS_INGESTED: Counter(Count) = "analytics_events_ingested_total";
    /// Time from an event's occurrence to analytics applying it, in seconds.
    pub(crate) const INGEST_LAG: Histogram(Seconds) = "analytics_ingest_lag_seconds";
    /// Events per write transaction of the analytics consumers.
    pub(crate) const INGEST_BATCH: Histogram(Count) = "analytics_ingest_batch_events";
    /// Orders the backfill has rebuilt from the orders history so far.
    pub(crate) const BACKFILL_DONE: Gauge(Count) = "analytics_backfill_orders_done";
    /// Orders the backfill has to rebuild (0 until the orders service has told).
    pub(crate) const BACKFILL_TOTAL: Gauge(Count) = "analytics_backfill_orders_total";
    /// `FiguresChanged` events published, by outcome (ok, error).
    pub(crate) const FIGURES_PUBLISHED: Counter(Count) = "analytics_figures_published_total";
}

pub(crate) fn describe() {
    Family::describe_all(&[
        EVENTS_INGESTED,
        INGEST_LAG,
        INGEST_BATCH,
        BACKFILL_DONE,
        BACKFILL_TOTAL,
        FIGURES_PUBLISHED,
    ]);
}
