//! Statements and transactions per service and use case, for `/metrics`:
//! `db_statements_total{service,op}`, `db_transactions_total{service,op,outcome}` and, on
//! SQLite, `db_group_commit_size{service}` (transactions per commit).

use metrics::{Counter, Histogram};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Describes what [`Stats`] records.
pub(super) fn describe_metrics() {
    crate::metric_family::Family::describe_all(&[DB_STATEMENTS, DB_TRANSACTIONS, DB_GROUP_COMMIT_SIZE]);
}

crate::metric_families! {
    /// SQL statements run, by service and use case (op).
    pub(crate) const DB_STATEMENTS: Counter(Count) = "db_statements_total";
    /// Write transactions ended, by service, use case (op) and outcome (committed, rolled_back).
    pub(crate) const DB_TRANSACTIONS: Counter(Count) = "db_transactions_total";
    /// Transactions made durable by one SQLite commit (group commit), by service.
    pub(crate) const DB_GROUP_COMMIT_SIZE: Histogram(Count) = "db_group_commit_size";
}

/// One database's counters. Handles are looked up once per use case, then kept.
pub(super) struct Stats {
    service: String,
    ops: Mutex<HashMap<&'static str, OpCounters>>,
    /// Created on first use, so that it binds to the recorder installed at start-up.
    group_size: OnceLock<Histogram>,
}

struct OpCounters {
    statements: Counter,
    committed: Counter,
    rolled_back: Counter,
}

impl Stats {
    pub(super) fn new(service: &str) -> Stats {
        Stats {
            service: service.to_owned(),
            ops: Mutex::new(HashMap::new()),
            group_size: OnceLock::new(),
        }
    }

    pub(super) fn service(&self) -> &str {
        &self.service
    }

    /// A write transaction ran `statements` statements and was committed or rolled back.
    pub(super) fn write(&self, op: &'static str, statements: u32, committed: bool) {
        self.with(op, |c| {
            c.statements.increment(u64::from(statements));
            if committed {
                c.committed.increment(1);
            } else {
                c.rolled_back.increment(1);
            }
        });
    }

    /// A read ran `statements` statements.
    pub(super) fn read(&self, op: &'static str, statements: u32) {
        self.with(op, |c| c.statements.increment(u64::from(statements)));
    }

    /// The writer committed `jobs` transactions at once.
    pub(super) fn group(&self, jobs: usize) {
        self.group_size
            .get_or_init(|| metrics::histogram!(DB_GROUP_COMMIT_SIZE.name, "service" => self.service.clone()))
            .record(jobs as f64);
    }

    fn with(&self, op: &'static str, f: impl FnOnce(&OpCounters)) {
        let mut ops = self.ops.lock().unwrap_or_else(|p| p.into_inner());
        let counters = ops.entry(op).or_insert_with(|| {
            let service = self.service.clone();
            OpCounters {
                statements: metrics::counter!(DB_STATEMENTS.name, "service" => service.clone(), "op" => op),
                committed: metrics::counter!(DB_TRANSACTIONS.name, "service" => service.clone(), "op" => op, "outcome" => "committed"),
                rolled_back: metrics::counter!(DB_TRANSACTIONS.name, "service" => service, "op" => op, "outcome" => "rolled_back"),
            }
        });
        f(counters);
    }
}
