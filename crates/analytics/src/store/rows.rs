//! Many rows in few statements: a batch's additions are written as multi-row `INSERT … VALUES
//! (…), (…) … ON CONFLICT …` statements rather than one statement a row. Chunks take sizes from
//! a short list (largest first), so the handful of statement texts that serve every batch stay
//! prepared.

use mercato_runtime::db::{DbError, Param, Tx};

/// The rows a chunk may hold; a batch's rows are split into these, largest first.
const CHUNKS: [usize; 8] = [128, 64, 32, 16, 8, 4, 2, 1];

/// A statement writing many rows: `head` before the values (`INSERT INTO t (a, b)`), `tail` after
/// them (`ON CONFLICT …`), and the values of each row.
pub struct Rows<'p> {
    head: String,
    tail: String,
    width: usize,
    values: Vec<&'p dyn Param>,
}

impl<'p> Rows<'p> {
    /// Rows of `width` values each.
    pub fn new(head: impl Into<String>, width: usize, tail: impl Into<String>) -> Self {
        Rows {
            head: head.into(),
            tail: tail.into(),
            width,
            values: Vec::new(),
        }
    }

    /// Adds a row; it must have `width` values.
    pub fn push(&mut self, row: &[&'p dyn Param]) {
        debug_assert_eq!(row.len(), self.width, "{}", self.head);
        self.values.extend_from_slice(row);
    }

    /// Writes the rows added, in chunks.
    pub fn write(self, tx: &mut Tx<'_>) -> Result<(), DbError> {
        let mut rest = self.values.as_slice();
        while !rest.is_empty() {
            let rows = rest.len() / self.width;
            let chunk = CHUNKS.iter().copied().find(|c| *c <= rows).unwrap_or(1);
            let (now, later) = rest.split_at(chunk * self.width);
            let sql = format!(
                "{} VALUES {} {}",
                self.head,
                placeholders(chunk, self.width),
                self.tail
            );
            tx.execute(&sql, now)?;
            rest = later;
        }
        Ok(())
    }
}

/// `($1, $2), ($3, $4)` for 2 rows of width 2.
fn placeholders(rows: usize, width: usize) -> String {
    let row = |r: usize| {
        let values: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
        format!("({})", values.join(", "))
    };
    (0..rows).map(row).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_the_values_row_after_row() {
        assert_eq!(placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(placeholders(1, 1), "($1)");
    }
}
