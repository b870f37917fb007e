//! The export's header, matched by name (column order differs between exports, and newer ones
//! add columns), and one record of the file read through it, cell by cell.

use anyhow::{Context as _, bail};
use csv::ByteRecord;
use std::collections::HashMap;

/// The columns without which a file is not a product export.
const REQUIRED: [&str; 3] = ["Handle", "Title", "Variant Price"];

/// Shopify allows three options per product; a file with more option columns was made by hand.
pub(super) const MAX_OPTIONS: usize = 3;

/// Column positions by name.
#[derive(Debug)]
pub(super) struct Columns {
    index: HashMap<String, usize>,
    /// How many cells the header has, which every line must have too.
    width: usize,
    /// `Option4 Name`, `Option4 Value`, … — columns for options Shopify does not have.
    beyond_options: Vec<String>,
}

impl Columns {
    /// The header record's columns; an error when one of [`REQUIRED`] is missing or a name is
    /// not UTF-8 (a UTF-8 BOM before the first name is dropped).
    pub(super) fn new(header: &ByteRecord) -> anyhow::Result<Self> {
        let mut index = HashMap::new();
        let mut beyond_options = Vec::new();
        for (i, raw) in header.iter().enumerate() {
            let name =
                std::str::from_utf8(raw).with_context(|| format!("header column {} is not UTF-8", i + 1))?;
            let name = name.trim_start_matches('\u{feff}').trim().to_owned();
            if option_number(&name).is_some_and(|n| n > MAX_OPTIONS) {
                beyond_options.push(name.clone());
            }
            index.entry(name).or_insert(i);
        }
        for required in REQUIRED {
            if !index.contains_key(required) {
                bail!("the header has no {required:?} column: not a Shopify product export");
            }
        }
        Ok(Self {
            index,
            width: header.len(),
            beyond_options,
        })
    }

    /// Whether the file has column `name`.
    pub(super) fn has(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }
}

/// `n` of `Option<n> Name` or `Option<n> Value`.
fn option_number(name: &str) -> Option<usize> {
    let rest = name.strip_prefix("Option")?;
    let (n, kind) = rest.split_once(' ')?;
    matches!(kind, "Name" | "Value").then(|| n.parse().ok())?
}

/// Why a product (or a stock level) is skipped: the physical line at fault, and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Fault {
    pub line: u64,
    pub reason: String,
}

impl Fault {
    pub(super) fn at(line: u64, reason: impl Into<String>) -> Self {
        Self {
            line,
            reason: reason.into(),
        }
    }
}

/// One record of the file: the physical line it starts on, and its cells.
#[derive(Debug)]
pub(super) struct Line {
    pub number: u64,
    pub cells: ByteRecord,
}

/// A line read through the header.
#[derive(Clone, Copy)]
pub(super) struct Cells<'a> {
    pub columns: &'a Columns,
    pub line: &'a Line,
}

impl<'a> Cells<'a> {
    /// The physical line of the record.
    pub(super) fn number(&self) -> u64 {
        self.line.number
    }

    /// A line with more or fewer cells than the header (a comma in an unquoted price, a quote
    /// left open) would be read under the wrong columns: it is refused instead.
    pub(super) fn check_width(&self) -> Result<(), Fault> {
        let (has, header) = (self.line.cells.len(), self.columns.width);
        if has == header {
            return Ok(());
        }
        Err(Fault::at(
            self.number(),
            format!(
                "the line has {has} cells where the header has {header} (a comma outside quotes, or a quote left open?)"
            ),
        ))
    }

    /// As [`Cells::text`], a failure located to this line.
    pub(super) fn get(&self, name: &str) -> Result<&'a str, Fault> {
        self.text(name).map_err(|reason| Fault::at(self.number(), reason))
    }

    /// Column `name` as it is ("" when the file has no such column or the row no such cell);
    /// `Err` names the column when it is not UTF-8.
    pub(super) fn raw(&self, name: &str) -> Result<&'a str, String> {
        let Some(bytes) = self.columns.index.get(name).and_then(|&i| self.line.cells.get(i)) else {
            return Ok("");
        };
        std::str::from_utf8(bytes)
            .map_err(|e| format!("{name} is not UTF-8 (invalid byte at offset {})", e.valid_up_to()))
    }

    /// Column `name`'s bytes without surrounding white space, whether or not they are UTF-8.
    pub(super) fn bytes(&self, name: &str) -> &'a [u8] {
        let bytes = self.columns.index.get(name).and_then(|&i| self.line.cells.get(i));
        bytes.unwrap_or_default().trim_ascii()
    }

    /// Column `name` without surrounding white space.
    pub(super) fn text(&self, name: &str) -> Result<&'a str, String> {
        self.raw(name).map(str::trim)
    }

    /// The first option column beyond the third that has a value on this line.
    pub(super) fn beyond_options(&self) -> Result<Option<&'a str>, String> {
        let columns = self.columns;
        for name in &columns.beyond_options {
            if !self.text(name)?.is_empty() {
                return Ok(Some(name.as_str()));
            }
        }
        Ok(None)
    }
}
