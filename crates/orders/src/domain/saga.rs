//! The checkout saga (and the cancellation and refund that reuse it) as one pure function:
//! `step(state, event) -> (state, commands)`.
//!
//! The state is never stored on its own: it is folded from the order's event history, so the
//! history is the saga's log. Forward path: placed → reserve stock → authorize payment → commit
//! stock → capture payment → confirmed. Every failure after a step that changed something
//! switches to an ordered list of compensations, executed one at a time, after which the
//! terminal event is appended:
//!
//! | failure                      | compensations             | terminal                  |
//! |------------------------------|---------------------------|---------------------------|
//! | stock unavailable            | none                      | failed `out_of_stock`     |
//! | payment declined / blocked   | release stock             | failed `payment_declined` / `fraud_blocked` |
//! | stock commit failed          | void payment, release     | failed `stock_commit_failed` |
//! | capture failed               | void payment, restock     | failed `payment_capture_failed` |
//! | cancel requested (confirmed) | restock, refund payment   | cancelled                 |
//! | refund requested             | refund payment, restock   | refunded                  |
//! | return received              | refund payment, restock the sellable units (keyed) | return completed |
//!
//! Fulfilment steps and a return's request and decision pass a settled saga by unchanged.

use super::order::{EventData, FailureCode, HeldLine, RefundLine};

/// Where a saga is. `Done` states are terminal until a cancel or refund request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Saga {
    #[default]
    New,
    Reserving,
    Authorizing,
    Committing,
    Capturing,
    /// Undoing (or, for cancel and refund, reversing) in order; then `then` is appended.
    Compensating {
        remaining: Vec<Command>,
        then: Terminal,
    },
    Done {
        terminal: Terminal,
    },
}

impl Saga {
    /// A short name for metrics and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Saga::New => "new",
            Saga::Reserving => "reserving",
            Saga::Authorizing => "authorizing",
            Saga::Committing => "committing",
            Saga::Capturing => "capturing",
            Saga::Compensating { .. } => "compensating",
            Saga::Done { terminal } => terminal.name(),
        }
    }

    /// Whether nothing is left to do.
    pub fn is_done(&self) -> bool {
        matches!(self, Saga::Done { .. } | Saga::New)
    }
}

/// How a saga (or a cancel or refund) ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Terminal {
    Confirmed,
    Failed {
        code: FailureCode,
    },
    Cancelled,
    Refunded {
        lines: Vec<RefundLine>,
        amount_minor: i64,
    },
    /// A received return refunded and restocked.
    Returned {
        return_id: String,
        lines: Vec<RefundLine>,
        amount_minor: i64,
    },
}

impl Terminal {
    pub fn name(&self) -> &'static str {
        match self {
            Terminal::Confirmed => "confirmed",
            Terminal::Failed { .. } => "failed",
            Terminal::Cancelled => "cancelled",
            Terminal::Refunded { .. } => "refunded",
            Terminal::Returned { .. } => "returned",
        }
    }

    /// The event that records this end.
    pub fn event(&self) -> EventData {
        match self {
            Terminal::Confirmed => EventData::Confirmed,
            Terminal::Failed { code } => EventData::Failed { code: *code },
            Terminal::Cancelled => EventData::Cancelled,
            Terminal::Refunded { lines, amount_minor } => EventData::Refunded {
                lines: lines.clone(),
                amount_minor: *amount_minor,
            },
            Terminal::Returned {
                return_id,
                lines,
                amount_minor,
            } => EventData::ReturnCompleted {
                return_id: return_id.clone(),
                lines: lines.clone(),
                amount_minor: *amount_minor,
            },
        }
    }
}

/// What the orchestrator must do next. Every command is idempotent (keys derive from the
/// order id), so it may be repeated after a crash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Reserve,
    Authorize,
    CommitStock,
    Capture,
    ReleaseStock,
    VoidPayment,
    /// Puts the whole committed reservation back on hand.
    RestockAll,
    /// Puts some committed units back (a partial refund), each adjustment keyed by `key` (the
    /// refund's), so a repeated step does not put them back twice.
    RestockLines {
        lines: Vec<RefundLine>,
        key: String,
    },
    RefundPayment {
        amount_minor: i64,
        key: String,
    },
    /// Puts returned units back at the given locations, each adjustment keyed by `key` (the
    /// return's), so a repeated step does not put them back twice.
    RestockAt {
        lines: Vec<HeldLine>,
        key: String,
    },
    /// Append the terminal event (no call to another service).
    Finish {
        terminal: Terminal,
    },
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Reserve => "reserve",
            Command::Authorize => "authorize",
            Command::CommitStock => "commit_stock",
            Command::Capture => "capture",
            Command::ReleaseStock => "release_stock",
            Command::VoidPayment => "void_payment",
            Command::RestockAll => "restock",
            Command::RestockLines { .. } => "restock_lines",
            Command::RefundPayment { .. } => "refund_payment",
            Command::RestockAt { .. } => "restock_returned",
            Command::Finish { .. } => "finish",
        }
    }

    /// Whether `event` is this command's completion.
    fn completed_by(&self, event: &EventData) -> bool {
        matches!(
            (self, event),
            (Command::ReleaseStock, EventData::StockReleased)
                | (Command::VoidPayment, EventData::PaymentVoided)
                | (Command::RestockAll, EventData::StockRestocked { .. })
                | (Command::RestockLines { .. }, EventData::StockRestocked { .. })
                | (Command::RestockAt { .. }, EventData::StockRestocked { .. })
                | (Command::RefundPayment { .. }, EventData::PaymentRefunded { .. })
        )
    }
}

/// An event that the saga in its state cannot take.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a {state} order cannot take {event}")]
pub struct Illegal {
    pub state: &'static str,
    pub event: &'static str,
}

/// The commands due in `state`, without a new event: what a resumed saga does first.
pub fn resume(state: &Saga) -> Vec<Command> {
    match state {
        Saga::New | Saga::Done { .. } => vec![],
        Saga::Reserving => vec![Command::Reserve],
        Saga::Authorizing => vec![Command::Authorize],
        Saga::Committing => vec![Command::CommitStock],
        Saga::Capturing => vec![Command::Capture],
        Saga::Compensating { remaining, then } => match remaining.first() {
            Some(c) => vec![c.clone()],
            None => vec![Command::Finish {
                terminal: then.clone(),
            }],
        },
    }
}

fn compensate(remaining: Vec<Command>, then: Terminal) -> Saga {
    Saga::Compensating { remaining, then }
}

fn failed(code: FailureCode) -> Terminal {
    Terminal::Failed { code }
}

/// The transition function: the next state and the commands it asks for.
// Long by design: one arm per (state, event) pair, the whole saga in one table.
pub fn step(state: &Saga, event: &EventData) -> Result<(Saga, Vec<Command>), Illegal> {
    use EventData as E;
    let next = match (state, event) {
        (Saga::New, E::Placed { .. }) => Saga::Reserving,
        (Saga::Reserving, E::StockReserved { .. }) => Saga::Authorizing,
        (Saga::Reserving, E::StockUnavailable { .. }) => compensate(vec![], failed(FailureCode::OutOfStock)),
        (Saga::Authorizing, E::PaymentAuthorized { .. }) => Saga::Committing,
        (Saga::Authorizing, E::PaymentDeclined { code, .. }) => {
            compensate(vec![Command::ReleaseStock], failed(*code))
        }
        (Saga::Committing, E::StockCommitted) => Saga::Capturing,
        (Saga::Committing, E::StockCommitFailed { .. }) => compensate(
            vec![Command::VoidPayment, Command::ReleaseStock],
            failed(FailureCode::StockCommitFailed),
        ),
        // An imported order is history: settled as the source's status says, and a later
        // import (the source changed it) settles it again.
        (Saga::New | Saga::Done { .. }, E::Imported(legacy)) => Saga::Done {
            terminal: legacy.terminal(),
        },
        (Saga::Capturing, E::PaymentCaptured { .. }) => compensate(vec![], Terminal::Confirmed),
        (Saga::Capturing, E::PaymentCaptureFailed { .. }) => compensate(
            vec![Command::VoidPayment, Command::RestockAll],
            failed(FailureCode::PaymentCaptureFailed),
        ),
        (Saga::Compensating { remaining, then }, e)
            if remaining.first().is_some_and(|c| c.completed_by(e)) =>
        {
            compensate(remaining[1..].to_vec(), then.clone())
        }
        (Saga::Compensating { remaining, then }, e) if remaining.is_empty() && *e == then.event() => {
            Saga::Done {
                terminal: then.clone(),
            }
        }
        (
            Saga::Done {
                terminal: Terminal::Confirmed,
            },
            E::CancelRequested { amount_minor, key },
        ) => {
            let mut remaining = vec![Command::RestockAll];
            if *amount_minor > 0 {
                remaining.push(Command::RefundPayment {
                    amount_minor: *amount_minor,
                    key: key.clone(),
                });
            }
            compensate(remaining, Terminal::Cancelled)
        }
        (Saga::Done { terminal }, e) if e.is_after_sale_step() && terminal.is_a_sale() => state.clone(),
        (
            Saga::Done { terminal },
            E::ReturnReceived {
                return_id,
                lines,
                amount_minor,
                key,
                restock,
            },
        ) if terminal.is_a_sale() => {
            // Units of a SKU count once however the receipt split them (sellable or not).
            let mut returned: Vec<RefundLine> = Vec::new();
            for l in lines {
                match returned.iter_mut().find(|r| r.sku == l.sku) {
                    Some(r) => r.quantity += l.quantity,
                    None => returned.push(RefundLine {
                        sku: l.sku.clone(),
                        quantity: l.quantity,
                    }),
                }
            }
            let end = Terminal::Returned {
                return_id: return_id.clone(),
                lines: returned,
                amount_minor: *amount_minor,
            };
            return_received(*amount_minor, key, restock, end)
        }
        (
            Saga::Done {
                terminal: Terminal::Confirmed | Terminal::Refunded { .. } | Terminal::Returned { .. },
            },
            E::RefundRequested {
                lines,
                amount_minor,
                key,
                restock_all,
            },
        ) => {
            let restock = if *restock_all {
                Command::RestockAll
            } else {
                Command::RestockLines {
                    lines: lines.clone(),
                    key: key.clone(),
                }
            };
            compensate(
                vec![
                    Command::RefundPayment {
                        amount_minor: *amount_minor,
                        key: key.clone(),
                    },
                    restock,
                ],
                Terminal::Refunded {
                    lines: lines.clone(),
                    amount_minor: *amount_minor,
                },
            )
        }
        (state, event) => {
            return Err(Illegal {
                state: state.name(),
                event: event.kind(),
            });
        }
    };
    let commands = resume(&next);
    Ok((next, commands))
}

impl Terminal {
    /// Whether the order stands as a sale (confirmed, possibly partly refunded or returned):
    /// what fulfilments and returns need.
    fn is_a_sale(&self) -> bool {
        matches!(
            self,
            Terminal::Confirmed | Terminal::Refunded { .. } | Terminal::Returned { .. }
        )
    }
}

/// A received return: refund its amount (if any), put its sellable units back (if any), then
/// complete it.
fn return_received(amount_minor: i64, key: &str, restock: &[HeldLine], end: Terminal) -> Saga {
    let mut remaining = Vec::new();
    if amount_minor > 0 {
        remaining.push(Command::RefundPayment {
            amount_minor,
            key: key.to_owned(),
        });
    }
    if !restock.is_empty() {
        remaining.push(Command::RestockAt {
            lines: restock.to_vec(),
            key: key.to_owned(),
        });
    }
    compensate(remaining, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed() -> EventData {
        EventData::Placed {
            customer_id: String::new(),
            cart_id: String::new(),
            currency: "EUR".to_owned(),
            lines: vec![],
            total_minor: 100,
            number: 1001,
            email: String::new(),
            charges: Box::default(),
        }
    }

    fn run(events: &[EventData]) -> (Saga, Vec<Command>) {
        let mut state = (Saga::New, vec![]);
        for e in events {
            state = step(&state.0, e).unwrap();
        }
        state
    }

    #[test]
    fn the_happy_path_reserves_authorizes_commits_captures_and_confirms() {
        let (s, c) = run(&[placed()]);
        assert_eq!((s, c), (Saga::Reserving, vec![Command::Reserve]));
        let (_, c) = run(&[placed(), EventData::StockReserved { lines: vec![] }]);
        assert_eq!(c, vec![Command::Authorize]);
        let (s, c) = run(&[
            placed(),
            EventData::StockReserved { lines: vec![] },
            EventData::PaymentAuthorized {
                intent_id: "i".into(),
            },
            EventData::StockCommitted,
            EventData::PaymentCaptured { amount_minor: 100 },
        ]);
        assert_eq!(
            c,
            vec![Command::Finish {
                terminal: Terminal::Confirmed
            }]
        );
        let (s, c) = step(&s, &EventData::Confirmed).unwrap();
        assert_eq!(
            s,
            Saga::Done {
                terminal: Terminal::Confirmed
            }
        );
        assert!(c.is_empty());
    }

    #[test]
    fn running_out_of_stock_fails_without_compensation() {
        let (_, c) = run(&[
            placed(),
            EventData::StockUnavailable {
                message: String::new(),
            },
        ]);
        assert_eq!(
            c,
            vec![Command::Finish {
                terminal: failed(FailureCode::OutOfStock)
            }]
        );
    }

    #[test]
    fn a_declined_payment_releases_the_stock_then_fails() {
        let events = [
            placed(),
            EventData::StockReserved { lines: vec![] },
            EventData::PaymentDeclined {
                intent_id: "i".into(),
                code: FailureCode::PaymentDeclined,
            },
        ];
        let (s, c) = run(&events);
        assert_eq!(c, vec![Command::ReleaseStock]);
        let (_, c) = step(&s, &EventData::StockReleased).unwrap();
        assert_eq!(
            c,
            vec![Command::Finish {
                terminal: failed(FailureCode::PaymentDeclined)
            }]
        );
    }

    #[test]
    fn a_failed_capture_voids_the_payment_and_restocks() {
        let (_, c) = run(&[
            placed(),
            EventData::StockReserved { lines: vec![] },
            EventData::PaymentAuthorized {
                intent_id: "i".into(),
            },
            EventData::StockCommitted,
            EventData::PaymentCaptureFailed {
                message: String::new(),
            },
        ]);
        assert_eq!(c, vec![Command::VoidPayment]);
    }

    #[test]
    fn only_a_confirmed_order_can_be_cancelled() {
        let cancel = EventData::CancelRequested {
            key: "k".into(),
            amount_minor: 100,
        };
        let (s, _) = run(&[placed()]);
        assert!(step(&s, &cancel).is_err());
        let done = Saga::Done {
            terminal: Terminal::Confirmed,
        };
        let (_, c) = step(&done, &cancel).unwrap();
        assert_eq!(c, vec![Command::RestockAll]);
        let failed = Saga::Done {
            terminal: failed(FailureCode::OutOfStock),
        };
        assert!(step(&failed, &cancel).is_err());
    }

    #[test]
    fn an_event_out_of_order_is_refused() {
        assert!(step(&Saga::Reserving, &EventData::PaymentCaptured { amount_minor: 1 }).is_err());
        assert!(step(&Saga::New, &EventData::Confirmed).is_err());
    }
}
