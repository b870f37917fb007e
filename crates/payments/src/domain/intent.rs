//! The payment intent state machine as one pure function: `(state, command) -> new state`.
//!
//! ```text
//! pending ──approve──► authorized ──capture──► captured ──refund──► partially_refunded ──► refunded
//!    │  ▲                  │                      └───────refund (all)──────────────────────▲
//!    │  └─retry── failed   └──void──► voided
//!    └──decline──► declined
//! ```
//!
//! `pending` and `failed` are the only states an authorization outcome may be applied to
//! (`failed` means the provider was unreachable; a retry with the same key completes it).
//! Everything else is final for authorization, and every other command has exactly one legal
//! source state set.

/// Where an intent is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Written before the provider is called; completed by the same call or by a retry.
    Pending,
    Authorized,
    Declined,
    /// The provider could not be reached; retrying with the same key may still authorize.
    Failed,
    Captured,
    PartiallyRefunded,
    Refunded,
    Voided,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Authorized => "authorized",
            Status::Declined => "declined",
            Status::Failed => "failed",
            Status::Captured => "captured",
            Status::PartiallyRefunded => "partially_refunded",
            Status::Refunded => "refunded",
            Status::Voided => "voided",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "pending" => Status::Pending,
            "authorized" => Status::Authorized,
            "declined" => Status::Declined,
            "failed" => Status::Failed,
            "captured" => Status::Captured,
            "partially_refunded" => Status::PartiallyRefunded,
            "refunded" => Status::Refunded,
            "voided" => Status::Voided,
            _ => return None,
        })
    }

    /// Whether an authorization outcome may still be applied.
    pub fn awaits_authorization(self) -> bool {
        matches!(self, Status::Pending | Status::Failed)
    }
}

/// Why an authorization did not succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureCode {
    CardDeclined,
    InsufficientFunds,
    FraudBlocked,
    ProviderUnavailable,
}

impl FailureCode {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::CardDeclined => "card_declined",
            FailureCode::InsufficientFunds => "insufficient_funds",
            FailureCode::FraudBlocked => "fraud_blocked",
            FailureCode::ProviderUnavailable => "provider_unavailable",
        }
    }

    pub fn parse(s: &str) -> Option<FailureCode> {
        Some(match s {
            "card_declined" => FailureCode::CardDeclined,
            "insufficient_funds" => FailureCode::InsufficientFunds,
            "fraud_blocked" => FailureCode::FraudBlocked,
            "provider_unavailable" => FailureCode::ProviderUnavailable,
            _ => return None,
        })
    }
}

/// The part of an intent the state machine decides on. Amounts are minor units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntentState {
    pub status: Status,
    pub authorized: i64,
    pub captured: i64,
    pub refunded: i64,
    pub failure: Option<FailureCode>,
}

impl IntentState {
    /// A new intent, before the provider is asked.
    pub fn pending(authorized: i64) -> IntentState {
        IntentState {
            status: Status::Pending,
            authorized,
            captured: 0,
            refunded: 0,
            failure: None,
        }
    }
}

/// What may happen to an intent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// The provider approved the authorization.
    Approve,
    /// The provider (or fraud scoring) declined it.
    Decline(FailureCode),
    /// The provider could not be reached.
    Fail,
    /// Capture `amount`; 0 captures the whole authorized amount.
    Capture {
        amount: i64,
    },
    Void,
    /// Refund `amount` of what was captured; 0 refunds all that remains.
    Refund {
        amount: i64,
    },
}

impl Command {
    fn name(self) -> &'static str {
        match self {
            Command::Approve | Command::Decline(_) | Command::Fail => "authorize",
            Command::Capture { .. } => "capture",
            Command::Void => "void",
            Command::Refund { .. } => "refund",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The command is not legal in the current state.
    #[error("cannot {command} a payment that is {}", from.as_str())]
    Illegal { from: Status, command: &'static str },
    /// The amount is larger than what the command may move.
    #[error("amount exceeds the {what} amount of {limit}")]
    AmountExceeds { what: &'static str, limit: i64 },
    #[error("amount must not be negative")]
    NegativeAmount,
}

/// Applies a command to a state: the new state, or why the command is refused.
// Long by design: one arm per (status, command) pair, the whole life of an intent in one table.
pub fn transition(state: IntentState, command: Command) -> Result<IntentState, TransitionError> {
    use Status::*;
    let illegal = Err(TransitionError::Illegal {
        from: state.status,
        command: command.name(),
    });
    match (state.status, command) {
        (Pending | Failed, Command::Approve) => Ok(IntentState {
            status: Authorized,
            failure: None,
            ..state
        }),
        (Pending | Failed, Command::Decline(code)) => Ok(IntentState {
            status: Declined,
            failure: Some(code),
            ..state
        }),
        (Pending | Failed, Command::Fail) => Ok(IntentState {
            status: Failed,
            failure: Some(FailureCode::ProviderUnavailable),
            ..state
        }),
        (Authorized, Command::Capture { amount }) => {
            let amount = match amount {
                0 => state.authorized,
                a if a < 0 => return Err(TransitionError::NegativeAmount),
                a if a > state.authorized => {
                    return Err(TransitionError::AmountExceeds {
                        what: "authorized",
                        limit: state.authorized,
                    });
                }
                a => a,
            };
            Ok(IntentState {
                status: Captured,
                captured: amount,
                ..state
            })
        }
        (Authorized, Command::Void) => Ok(IntentState {
            status: Voided,
            ..state
        }),
        (Captured | PartiallyRefunded, Command::Refund { amount }) => {
            let refundable = state.captured - state.refunded;
            let amount = match amount {
                0 => refundable,
                a if a < 0 => return Err(TransitionError::NegativeAmount),
                a if a > refundable => {
                    return Err(TransitionError::AmountExceeds {
                        what: "refundable",
                        limit: refundable,
                    });
                }
                a => a,
            };
            if amount == 0 {
                // Captured, but everything is refunded or reserved by refunds in flight.
                return Err(TransitionError::AmountExceeds {
                    what: "refundable",
                    limit: 0,
                });
            }
            let refunded = state.refunded + amount;
            Ok(IntentState {
                status: if refunded == state.captured {
                    Refunded
                } else {
                    PartiallyRefunded
                },
                refunded,
                ..state
            })
        }
        _ => illegal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authorized(amount: i64) -> IntentState {
        transition(IntentState::pending(amount), Command::Approve).unwrap()
    }

    #[test]
    fn an_authorization_outcome_applies_only_to_pending_or_failed_intents() {
        let failed = transition(IntentState::pending(100), Command::Fail).unwrap();
        assert_eq!(failed.status, Status::Failed);
        assert_eq!(failed.failure, Some(FailureCode::ProviderUnavailable));
        let retried = transition(failed, Command::Approve).unwrap();
        assert_eq!(retried.status, Status::Authorized);
        assert_eq!(retried.failure, None);
        let declined = transition(
            IntentState::pending(100),
            Command::Decline(FailureCode::CardDeclined),
        )
        .unwrap();
        assert_eq!(declined.failure, Some(FailureCode::CardDeclined));
        for done in [retried, declined] {
            assert!(matches!(
                transition(done, Command::Approve),
                Err(TransitionError::Illegal {
                    command: "authorize",
                    ..
                })
            ));
            assert!(transition(done, Command::Fail).is_err());
        }
    }

    #[test]
    fn capture_zero_takes_the_whole_amount_and_more_than_authorized_is_refused() {
        assert_eq!(
            transition(authorized(500), Command::Capture { amount: 0 })
                .unwrap()
                .captured,
            500
        );
        assert_eq!(
            transition(authorized(500), Command::Capture { amount: 300 })
                .unwrap()
                .captured,
            300
        );
        assert_eq!(
            transition(authorized(500), Command::Capture { amount: 501 }),
            Err(TransitionError::AmountExceeds {
                what: "authorized",
                limit: 500
            })
        );
        assert_eq!(
            transition(authorized(500), Command::Capture { amount: -1 }),
            Err(TransitionError::NegativeAmount)
        );
    }

    #[test]
    fn refunds_add_up_to_the_captured_amount_and_no_further() {
        let captured = transition(authorized(1000), Command::Capture { amount: 800 }).unwrap();
        let part = transition(captured, Command::Refund { amount: 300 }).unwrap();
        assert_eq!((part.status, part.refunded), (Status::PartiallyRefunded, 300));
        assert_eq!(
            transition(part, Command::Refund { amount: 501 }),
            Err(TransitionError::AmountExceeds {
                what: "refundable",
                limit: 500
            })
        );
        let full = transition(part, Command::Refund { amount: 0 }).unwrap();
        assert_eq!((full.status, full.refunded), (Status::Refunded, 800));
        assert!(matches!(
            transition(full, Command::Refund { amount: 1 }),
            Err(TransitionError::Illegal {
                from: Status::Refunded,
                ..
            })
        ));
    }

    #[test]
    fn every_illegal_transition_is_refused_with_its_source_state() {
        let voided = transition(authorized(100), Command::Void).unwrap();
        assert_eq!(voided.status, Status::Voided);
        let captured = transition(authorized(100), Command::Capture { amount: 0 }).unwrap();
        let pending = IntentState::pending(100);
        let cases = [
            (pending, Command::Capture { amount: 0 }),
            (pending, Command::Void),
            (pending, Command::Refund { amount: 0 }),
            (authorized(100), Command::Refund { amount: 10 }),
            (voided, Command::Capture { amount: 0 }),
            (voided, Command::Void),
            (voided, Command::Refund { amount: 0 }),
            (captured, Command::Capture { amount: 0 }),
            (captured, Command::Void),
        ];
        for (state, command) in cases {
            let e = transition(state, command).unwrap_err();
            assert_eq!(
                e,
                TransitionError::Illegal {
                    from: state.status,
                    command: command.name()
                },
                "{state:?} {command:?}"
            );
            assert!(e.to_string().starts_with("cannot "));
        }
    }
}
