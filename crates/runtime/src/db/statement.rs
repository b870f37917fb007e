//! [`Statement`]: one write statement with its parameters owned, so that the same statement can
//! run inside a transaction ([`super::Tx::run`]) or alone ([`super::Db::run`], which on
//! PostgreSQL saves the `BEGIN` and `COMMIT` round trips).

use super::value::{Param, Value};

/// A statement and its parameters, owned.
#[derive(Clone, Debug)]
pub struct Statement {
    sql: String,
    params: Vec<Value<'static>>,
}

impl Statement {
    /// Copies the parameters, so the statement can cross to another thread.
    pub fn new(sql: impl Into<String>, params: &[&dyn Param]) -> Statement {
        Statement {
            sql: sql.into(),
            params: params.iter().map(|p| p.value().into_owned()).collect(),
        }
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The parameters, as the statement-running methods take them.
    pub fn params(&self) -> Vec<&dyn Param> {
        self.params.iter().map(|v| v as &dyn Param).collect()
    }
}
