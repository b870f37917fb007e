//! JSON lines: one JSON object per line, `\n` after each, UTF-8.

use serde::Serialize;
use std::io::{self, Write};

/// Writes one JSON value per line to `out` (buffer it: a `BufWriter`).
pub struct JsonLinesWriter<W: Write> {
    out: W,
}

impl<W: Write> JsonLinesWriter<W> {
    pub fn new(out: W) -> Self {
        JsonLinesWriter { out }
    }

    pub fn line(&mut self, value: &impl Serialize) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, value)?;
        self.out.write_all(b"\n")
    }

    /// The writer back, flushed.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_is_one_line_that_parses_back() {
        let mut w = JsonLinesWriter::new(Vec::new());
        w.line(&serde_json::json!({"title": "two\nlines", "n": 1}))
            .unwrap();
        w.line(&serde_json::json!({"title": "=1+1", "n": -2})).unwrap();
        let text = String::from_utf8(w.finish().unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(first["title"], "two\nlines");
        assert!(text.ends_with('\n'));
    }
}
