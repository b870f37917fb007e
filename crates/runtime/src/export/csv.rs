//! CSV as RFC 4180 writes it: CRLF line ends, a field quoted when it holds a comma, a quote, CR
//! or LF, quotes inside doubled; UTF-8 without a byte-order mark; a header row first.
//!
//! Formulas are neutralised as OWASP's CSV-injection guidance says: a text cell beginning with
//! `=`, `+`, `-`, `@`, a tab or a CR is prefixed with a single quote, so no spreadsheet runs
//! `=HYPERLINK(…)` from a product title. Numbers the export itself formats ([`Cell::Number`]:
//! amounts, quantities, counts) are written as they are, `-12.50` included: they come from
//! integers, never from user text, and a refund's negative amount must stay a number to add up.

use std::io::{self, Write};

/// One field of a row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    /// Text from people or other systems: neutralised and quoted as needed.
    Text(&'a str),
    /// A number the export formatted itself (`12`, `-3.50`): written as it is.
    Number(&'a str),
    Int(i64),
    /// No value: an empty field.
    Empty,
}

/// Writes rows of CSV to `out`; buffer `out` (a `BufWriter`), since every field is a write.
pub struct CsvWriter<W: Write> {
    out: W,
    columns: usize,
}

impl<W: Write> CsvWriter<W> {
    /// Starts the file with its header row.
    pub fn new(mut out: W, header: &[&str]) -> io::Result<Self> {
        write_record(&mut out, header.iter().map(|h| Cell::Text(h)))?;
        Ok(CsvWriter {
            out,
            columns: header.len(),
        })
    }

    /// One row, as many cells as the header has columns.
    pub fn row(&mut self, cells: &[Cell<'_>]) -> io::Result<()> {
        if cells.len() != self.columns {
            return Err(io::Error::other(format!(
                "a row of {} cells under a header of {}",
                cells.len(),
                self.columns
            )));
        }
        write_record(&mut self.out, cells.iter().copied())
    }

    /// The writer back, flushed.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

fn write_record<'a, W: Write>(out: &mut W, cells: impl Iterator<Item = Cell<'a>>) -> io::Result<()> {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        match cell {
            Cell::Text(text) => write_text(out, text)?,
            Cell::Number(number) => write_text_raw(out, number)?,
            Cell::Int(n) => write!(out, "{n}")?,
            Cell::Empty => {}
        }
    }
    out.write_all(b"\r\n")
}

/// Whether a spreadsheet could read `text` as a formula: its first character, or its first
/// after leading spaces and line breaks (which some spreadsheets skip), starts one.
fn is_formula_like(text: &str) -> bool {
    let starts_formula =
        |b: Option<&u8>| matches!(b, Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\n' | b'\0'));
    let bytes = text.as_bytes();
    starts_formula(bytes.first()) || starts_formula(bytes.iter().find(|b| !b.is_ascii_whitespace()))
}

fn write_text<W: Write>(out: &mut W, text: &str) -> io::Result<()> {
    if is_formula_like(text) {
        write_quoted_if_needed(out, "'", text)
    } else {
        write_quoted_if_needed(out, "", text)
    }
}

/// A number as it is, still quoted if it somehow holds a delimiter (it never should).
fn write_text_raw<W: Write>(out: &mut W, text: &str) -> io::Result<()> {
    write_quoted_if_needed(out, "", text)
}

fn write_quoted_if_needed<W: Write>(out: &mut W, prefix: &str, text: &str) -> io::Result<()> {
    if !text.contains([',', '"', '\r', '\n']) {
        out.write_all(prefix.as_bytes())?;
        return out.write_all(text.as_bytes());
    }
    out.write_all(b"\"")?;
    out.write_all(prefix.as_bytes())?;
    for (i, part) in text.split('"').enumerate() {
        if i > 0 {
            out.write_all(b"\"\"")?;
        }
        out.write_all(part.as_bytes())?;
    }
    out.write_all(b"\"")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_formula_after_leading_spaces_or_line_breaks_or_behind_nul_is_neutralised() {
        for cell in ["  =1+1", "\n=1+1", "\0=1+1", " @SUM(A1)"] {
            let out = csv(&["a"], &[&[Cell::Text(cell)]]);
            let row = out.strip_prefix("a\r\n").unwrap();
            assert!(
                row.starts_with('\'') || row.starts_with("\"'"),
                "{cell:?} became {row:?}"
            );
        }
    }

    use super::*;

    fn csv(header: &[&str], rows: &[&[Cell<'_>]]) -> String {
        let mut w = CsvWriter::new(Vec::new(), header).unwrap();
        for row in rows {
            w.row(row).unwrap();
        }
        String::from_utf8(w.finish().unwrap()).unwrap()
    }

    #[test]
    fn plain_fields_are_bare_and_lines_end_in_crlf() {
        let out = csv(&["sku", "qty"], &[&[Cell::Text("TEE-1"), Cell::Int(3)]]);
        assert_eq!(out, "sku,qty\r\nTEE-1,3\r\n");
    }

    #[test]
    fn commas_quotes_and_line_breaks_are_quoted_and_quotes_doubled() {
        let out = csv(
            &["a", "b", "c", "d"],
            &[&[
                Cell::Text("x,y"),
                Cell::Text("say \"hi\""),
                Cell::Text("two\nlines"),
                Cell::Text("cr\rhere"),
            ]],
        );
        assert_eq!(
            out,
            "a,b,c,d\r\n\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\rhere\"\r\n"
        );
    }

    #[test]
    fn formula_like_text_is_neutralised_but_numbers_are_not() {
        let out = csv(
            &["a", "b", "c", "d", "e", "f", "g"],
            &[&[
                Cell::Text("=HYPERLINK(\"http://x\",\"y\")"),
                Cell::Text("+1"),
                Cell::Text("-2"),
                Cell::Text("@SUM(A1)"),
                Cell::Text("\tx"),
                Cell::Number("-12.50"),
                Cell::Int(-3),
            ]],
        );
        assert_eq!(
            out,
            "a,b,c,d,e,f,g\r\n\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",'+1,'-2,'@SUM(A1),'\tx,-12.50,-3\r\n"
        );
        let out = csv(&["a"], &[&[Cell::Text("\rx")]]);
        assert_eq!(out, "a\r\n\"'\rx\"\r\n");
    }

    #[test]
    fn utf8_passes_through_and_empty_cells_are_empty() {
        let out = csv(&["name", "note"], &[&[Cell::Text("Café ☕"), Cell::Empty]]);
        assert_eq!(out, "name,note\r\nCafé ☕,\r\n");
    }

    #[test]
    fn a_row_of_the_wrong_width_is_refused() {
        let mut w = CsvWriter::new(Vec::new(), &["a", "b"]).unwrap();
        assert!(w.row(&[Cell::Int(1)]).is_err());
    }
}
