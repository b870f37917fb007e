//! REST shapes of an order's fulfilments and returns, and the bodies that create and move them.

use mercato_proto::names;
use mercato_proto::orders as pb;
use mercato_runtime::time::to_rfc3339;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Units of a SKU.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemQuantityBody {
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub sku: String,
    #[serde(deserialize_with = "crate::dto::whole::i64")]
    #[schema(minimum = 1)]
    pub quantity: i64,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"location": "default", "lines": [{"sku": "BS-M", "quantity": 1}],
    "carrier": "DHL", "tracking_number": "JD014600006281", "tracking_url": "https://www.dhl.com/track?id=JD014600006281"})))]
pub struct FulfilmentBody {
    /// The inventory location the units leave from (`[a-z0-9-]`, 1–40); absent: where they were
    /// reserved.
    #[serde(default)]
    #[schema(pattern = "^[a-z0-9-]{1,40}$")]
    pub location: Option<String>,
    /// Absent or empty: every unit still to send.
    #[serde(default)]
    pub lines: Vec<ItemQuantityBody>,
    /// At most 100 characters.
    #[serde(default)]
    pub carrier: Option<String>,
    /// At most 100 characters.
    #[serde(default)]
    pub tracking_number: Option<String>,
    /// An http(s) URL of at most 500 characters.
    #[serde(default)]
    #[schema(pattern = "^https?://")]
    pub tracking_url: Option<String>,
}

/// Tracking given (or corrected) when the parcel ships; absent fields stay as they were.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"tracking_number": "JD014600006281"})))]
pub struct ShipBody {
    #[serde(default)]
    pub carrier: Option<String>,
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    #[schema(pattern = "^https?://")]
    pub tracking_url: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"lines": [{"sku": "BS-M", "quantity": 1}], "reason": "too small"})))]
pub struct ReturnBody {
    /// Units sent and in no other return; absent or empty: every such unit.
    #[serde(default)]
    pub lines: Vec<ItemQuantityBody>,
    /// At most 500 characters.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceivedLineBody {
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub sku: String,
    #[serde(deserialize_with = "crate::dto::whole::i64")]
    #[schema(minimum = 1)]
    pub quantity: i64,
    /// Whether these units can be sold again: they go back in stock.
    pub sellable: bool,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"lines": [{"sku": "BS-M", "quantity": 1, "sellable": true}]})))]
pub struct ReceiveBody {
    /// Every unit of the return once (a SKU's units may be split between sellable and not);
    /// absent or empty: all of them, sellable.
    #[serde(default)]
    pub lines: Vec<ReceivedLineBody>,
}

#[derive(Serialize, ToSchema)]
pub struct ItemQuantityView {
    pub sku: String,
    pub quantity: i64,
}

/// Units sent together from one location, and how far they got.
#[derive(Serialize, ToSchema)]
pub struct FulfilmentView {
    pub id: String,
    pub location: String,
    pub lines: Vec<ItemQuantityView>,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    /// pending (packed), shipped or delivered.
    pub status: String,
    pub created_at: String,
    pub shipped_at: Option<String>,
    pub delivered_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReturnLineView {
    pub sku: String,
    pub quantity: i64,
    /// Known once received.
    pub sellable: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ReturnView {
    pub id: String,
    /// requested, approved, rejected, received (refund and restock under way) or completed.
    pub status: String,
    pub lines: Vec<ReturnLineView>,
    pub reason: Option<String>,
    pub requested_by_customer: bool,
    /// What receiving it refunds: the returned units' paid amount.
    pub refund_minor: i64,
    pub requested_at: String,
    pub updated_at: String,
}

fn some(s: String) -> Option<String> {
    Some(s).filter(|s| !s.is_empty())
}

fn time(ms: i64) -> Option<String> {
    (ms > 0).then(|| to_rfc3339(ms))
}

impl From<pb::Fulfilment> for FulfilmentView {
    fn from(f: pb::Fulfilment) -> Self {
        FulfilmentView {
            status: names::shipment_status(f.status()).to_owned(),
            id: f.id,
            location: f.location,
            lines: f
                .lines
                .into_iter()
                .map(|l| ItemQuantityView {
                    sku: l.sku,
                    quantity: l.quantity,
                })
                .collect(),
            carrier: some(f.carrier),
            tracking_number: some(f.tracking_number),
            tracking_url: some(f.tracking_url),
            created_at: to_rfc3339(f.created_at_ms),
            shipped_at: time(f.shipped_at_ms),
            delivered_at: time(f.delivered_at_ms),
        }
    }
}

impl From<pb::Return> for ReturnView {
    fn from(r: pb::Return) -> Self {
        ReturnView {
            status: names::return_status(r.status()).to_owned(),
            id: r.id,
            lines: r
                .lines
                .into_iter()
                .map(|l| ReturnLineView {
                    sku: l.sku,
                    quantity: l.quantity,
                    sellable: l.sellable,
                })
                .collect(),
            reason: some(r.reason),
            requested_by_customer: r.requested_by_customer,
            refund_minor: r.refund_minor,
            requested_at: to_rfc3339(r.requested_at_ms),
            updated_at: to_rfc3339(r.updated_at_ms),
        }
    }
}

impl ItemQuantityBody {
    pub fn into_proto(self) -> pb::ItemQuantity {
        pb::ItemQuantity {
            sku: self.sku,
            quantity: self.quantity,
        }
    }
}
