//! Placeholder: see lib.rs; being written.
