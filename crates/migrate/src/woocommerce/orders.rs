//! Orders: being written.

use super::WooCommerce;
use crate::source::{Row, ScanFrom};

impl WooCommerce {
    pub(super) async fn scan_orders(&self, _from: &ScanFrom, _limit: usize) -> anyhow::Result<Vec<Row>> {
        anyhow::bail!("orders are not read yet")
    }
}
