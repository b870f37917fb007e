//! `FiguresChanged`: after a change, today's figures of the store (its local date), at most
//! about once a second per store. Published straight on the bus, not through an outbox: it is
//! a nudge for screens that are open now, the figures themselves are in the tables, and a lost
//! one is replaced by the next change (a restart loses at most the last second's).

use crate::metrics::FIGURES_PUBLISHED;
use crate::service::AnalyticsService;
use mercato_proto::events::FiguresChanged;
use mercato_proto::subjects::analytics::FIGURES_CHANGED;
use mercato_runtime::bus::SharedBus;
use mercato_runtime::shutdown::Shutdown;
use prost::Message;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often changed stores get their figures published.
const PERIOD: Duration = Duration::from_secs(1);

/// The stores whose figures changed since the last publication.
#[derive(Default)]
pub struct Live {
    dirty: Mutex<BTreeSet<String>>,
}

impl Live {
    pub fn mark(&self, stores: BTreeSet<String>) {
        if !stores.is_empty() {
            self.dirty.lock().expect("live set").extend(stores);
        }
    }

    fn take(&self) -> BTreeSet<String> {
        std::mem::take(&mut *self.dirty.lock().expect("live set"))
    }

    pub fn start(&self, service: Arc<AnalyticsService>, bus: SharedBus, shutdown: Shutdown) {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(PERIOD);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    () = shutdown.cancelled() => break,
                }
                for store in service.live.take() {
                    let outcome = match service.publish_today(&bus, &store).await {
                        Ok(()) => "ok",
                        Err(e) => {
                            tracing::debug!(store_id = %store, error = %e, "figures not published");
                            "error"
                        }
                    };
                    metrics::counter!(FIGURES_PUBLISHED.name, "outcome" => outcome).increment(1);
                }
            }
        });
    }
}

impl AnalyticsService {
    /// Today's figures of `store`, as `FiguresChanged`.
    pub async fn figures_today(&self, store: &str) -> anyhow::Result<FiguresChanged> {
        let settings = self.store.settings(store).await?;
        let today = settings.zone.date(mercato_runtime::time::now_ms()).to_string();
        let range = crate::domain::range::resolve(&today, &today, &settings.zone, 0)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let figures = self.figures(store, &range).await?;
        Ok(FiguresChanged {
            date: today,
            currency: settings.currency,
            figures: Some(figures),
        })
    }

    async fn publish_today(&self, bus: &SharedBus, store: &str) -> anyhow::Result<()> {
        let event = self.figures_today(store).await?;
        let envelope = mercato_runtime::outbox::envelope(store, FIGURES_CHANGED, 1, &event);
        bus.publish(FIGURES_CHANGED, &envelope.id, envelope.encode_to_vec().into())
            .await
    }
}
