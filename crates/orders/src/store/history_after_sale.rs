//! The stored records of fulfilment and return events (`order_events.data_json`), tagged by
//! `kind` like the rest of the history (`history.rs`, which reads them as its last, untagged
//! variant); converted at this edge so the domain's events can change without changing the disk.

use super::history::{Held, Returned, refund_lines, returned};
use crate::domain::fulfilment::{ReturnedLine, Tracking};
use crate::domain::order::{EventData, HeldLine};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub(super) struct StoredTracking {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    carrier: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    number: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    url: String,
}

#[derive(Serialize, Deserialize)]
pub(super) struct StoredReturnLine {
    sku: String,
    quantity: i64,
    sellable: bool,
}

/// One after-sale event as stored.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(super) enum AfterSale {
    FulfilmentCreated {
        fulfilment_id: String,
        key: String,
        location: String,
        lines: Vec<Returned>,
        tracking: StoredTracking,
    },
    FulfilmentShipped {
        fulfilment_id: String,
        tracking: StoredTracking,
    },
    FulfilmentDelivered {
        fulfilment_id: String,
    },
    ReturnRequested {
        return_id: String,
        key: String,
        lines: Vec<Returned>,
        reason: String,
        by_customer: bool,
    },
    ReturnApproved {
        return_id: String,
    },
    ReturnRejected {
        return_id: String,
    },
    ReturnReceived {
        return_id: String,
        lines: Vec<StoredReturnLine>,
        amount_minor: i64,
        key: String,
        restock: Vec<Held>,
    },
    ReturnCompleted {
        return_id: String,
        lines: Vec<Returned>,
        amount_minor: i64,
    },
}

fn tracking(t: &Tracking) -> StoredTracking {
    StoredTracking {
        carrier: t.carrier.clone(),
        number: t.number.clone(),
        url: t.url.clone(),
    }
}

impl From<StoredTracking> for Tracking {
    fn from(t: StoredTracking) -> Self {
        Tracking {
            carrier: t.carrier,
            number: t.number,
            url: t.url,
        }
    }
}

/// The record of an after-sale event. Called by `history.rs` for every kind it does not
/// store itself, which are exactly these.
// Long by design (both conversions): one arm per kind of event.
pub(super) fn after_sale_record(data: &EventData) -> AfterSale {
    use EventData as E;
    match data {
        E::FulfilmentCreated {
            fulfilment_id,
            key,
            location,
            lines,
            tracking: t,
        } => AfterSale::FulfilmentCreated {
            fulfilment_id: fulfilment_id.clone(),
            key: key.clone(),
            location: location.clone(),
            lines: returned(lines),
            tracking: tracking(t),
        },
        E::FulfilmentShipped {
            fulfilment_id,
            tracking: t,
        } => AfterSale::FulfilmentShipped {
            fulfilment_id: fulfilment_id.clone(),
            tracking: tracking(t),
        },
        E::FulfilmentDelivered { fulfilment_id } => AfterSale::FulfilmentDelivered {
            fulfilment_id: fulfilment_id.clone(),
        },
        E::ReturnRequested {
            return_id,
            key,
            lines,
            reason,
            by_customer,
        } => AfterSale::ReturnRequested {
            return_id: return_id.clone(),
            key: key.clone(),
            lines: returned(lines),
            reason: reason.clone(),
            by_customer: *by_customer,
        },
        E::ReturnApproved { return_id } => AfterSale::ReturnApproved {
            return_id: return_id.clone(),
        },
        E::ReturnRejected { return_id } => AfterSale::ReturnRejected {
            return_id: return_id.clone(),
        },
        E::ReturnReceived {
            return_id,
            lines,
            amount_minor,
            key,
            restock,
        } => AfterSale::ReturnReceived {
            return_id: return_id.clone(),
            lines: lines
                .iter()
                .map(|l| StoredReturnLine {
                    sku: l.sku.clone(),
                    quantity: l.quantity,
                    sellable: l.sellable,
                })
                .collect(),
            amount_minor: *amount_minor,
            key: key.clone(),
            restock: restock.iter().map(Held::from).collect(),
        },
        E::ReturnCompleted {
            return_id,
            lines,
            amount_minor,
        } => AfterSale::ReturnCompleted {
            return_id: return_id.clone(),
            lines: returned(lines),
            amount_minor: *amount_minor,
        },
        // history.rs calls this for the kinds above only, and stores the others itself.
        other => unreachable!("history.rs stores {} itself", other.kind()),
    }
}

impl From<AfterSale> for EventData {
    fn from(record: AfterSale) -> Self {
        use AfterSale as R;
        match record {
            R::FulfilmentCreated {
                fulfilment_id,
                key,
                location,
                lines,
                tracking,
            } => EventData::FulfilmentCreated {
                fulfilment_id,
                key,
                location,
                lines: refund_lines(lines),
                tracking: tracking.into(),
            },
            R::FulfilmentShipped {
                fulfilment_id,
                tracking,
            } => EventData::FulfilmentShipped {
                fulfilment_id,
                tracking: tracking.into(),
            },
            R::FulfilmentDelivered { fulfilment_id } => EventData::FulfilmentDelivered { fulfilment_id },
            R::ReturnRequested {
                return_id,
                key,
                lines,
                reason,
                by_customer,
            } => EventData::ReturnRequested {
                return_id,
                key,
                lines: refund_lines(lines),
                reason,
                by_customer,
            },
            R::ReturnApproved { return_id } => EventData::ReturnApproved { return_id },
            R::ReturnRejected { return_id } => EventData::ReturnRejected { return_id },
            R::ReturnReceived {
                return_id,
                lines,
                amount_minor,
                key,
                restock,
            } => EventData::ReturnReceived {
                return_id,
                lines: lines
                    .into_iter()
                    .map(|l| ReturnedLine {
                        sku: l.sku,
                        quantity: l.quantity,
                        sellable: l.sellable,
                    })
                    .collect(),
                amount_minor,
                key,
                restock: restock.into_iter().map(HeldLine::from).collect(),
            },
            R::ReturnCompleted {
                return_id,
                lines,
                amount_minor,
            } => EventData::ReturnCompleted {
                return_id,
                lines: refund_lines(lines),
                amount_minor,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::history::{from_json, to_json};
    use super::*;
    use crate::domain::order::RefundLine;

    fn units(sku: &str, quantity: i64) -> Vec<RefundLine> {
        vec![RefundLine {
            sku: sku.into(),
            quantity,
        }]
    }

    #[test]
    fn every_after_sale_event_is_stored_under_its_kind_and_reads_back_as_it_was() {
        let tracking = Tracking {
            carrier: "DHL".into(),
            number: "JD1".into(),
            url: "https://track.example/JD1".into(),
        };
        let events = [
            EventData::FulfilmentCreated {
                fulfilment_id: "f".into(),
                key: "k".into(),
                location: "east".into(),
                lines: units("A", 2),
                tracking: tracking.clone(),
            },
            EventData::FulfilmentShipped {
                fulfilment_id: "f".into(),
                tracking: Tracking::default(),
            },
            EventData::FulfilmentDelivered {
                fulfilment_id: "f".into(),
            },
            EventData::ReturnRequested {
                return_id: "r".into(),
                key: "k".into(),
                lines: units("A", 1),
                reason: "too small".into(),
                by_customer: true,
            },
            EventData::ReturnApproved {
                return_id: "r".into(),
            },
            EventData::ReturnRejected {
                return_id: "r".into(),
            },
            EventData::ReturnReceived {
                return_id: "r".into(),
                lines: vec![ReturnedLine {
                    sku: "A".into(),
                    quantity: 1,
                    sellable: true,
                }],
                amount_minor: 500,
                key: "return:o:r".into(),
                restock: vec![HeldLine {
                    sku: "A".into(),
                    location: "east".into(),
                    quantity: 1,
                }],
            },
            EventData::ReturnCompleted {
                return_id: "r".into(),
                lines: units("A", 1),
                amount_minor: 500,
            },
        ];
        for (i, data) in events.iter().enumerate() {
            let json = to_json(data).unwrap();
            let stored: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(stored["kind"], data.kind(), "{json}");
            assert_eq!(&from_json(i as i64, &json).unwrap(), data, "{json}");
        }
        // Empty tracking fields are left out of the record.
        let shipped = to_json(&events[1]).unwrap();
        assert_eq!(
            shipped,
            r#"{"kind":"fulfilment_shipped","fulfilment_id":"f","tracking":{}}"#
        );
    }
}
