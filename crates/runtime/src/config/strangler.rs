//! The strangler fig's settings (ADR 0016): where the routing file is that says, per store,
//! which paths go to the legacy shop and which to Mercato. Being written.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Off unless `routes_file` is set.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StranglerSettings {
    /// The routing file (TOML), re-read when it changes, without a restart.
    pub routes_file: Option<PathBuf>,
}
