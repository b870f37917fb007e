//! Free text from clients — names, titles, subjects, descriptions, messages — and the one rule
//! for the characters it may hold.
//!
//! Control characters (C0 `U+0000`–`U+001F`, `DEL` and C1 `U+0080`–`U+009F`) are refused: a NUL
//! cannot be stored in PostgreSQL text and truncates strings in C libraries, an escape sequence
//! rewrites the terminal of whoever reads a log or a dump, and a carriage return forges lines.
//! A single-line value (a name, a title, a subject) allows none of them; multi-line text (a
//! description, a message) allows line feeds and tabs. Every service checks its free text with
//! [`refuse_controls`], so the rule and its wording are the same everywhere.

use crate::error::FieldError;

/// Whether a text may span lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lines {
    /// A name, title or subject: no control character at all.
    One,
    /// A description or message: line feeds (`\n`) and tabs (`\t`), no other control character.
    Many,
}

/// Refuses `s` with a [`FieldError`] naming `field` when it holds a control character that
/// `lines` does not allow.
pub fn refuse_controls(field: &str, s: &str, lines: Lines) -> Result<(), FieldError> {
    let allowed = |c: char| lines == Lines::Many && matches!(c, '\n' | '\t');
    if s.chars().any(|c| c.is_control() && !allowed(c)) {
        let why = match lines {
            Lines::One => "may not contain control characters or line breaks",
            Lines::Many => "may not contain control characters other than line feeds and tabs",
        };
        return Err(FieldError::new(field, why));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_text_refuses_every_control_character() {
        for bad in [
            "a\0b",
            "a\nb",
            "a\tb",
            "a\rb",
            "\u{1b}[31m",
            "a\u{7f}",
            "a\u{85}b",
            "\u{9f}",
        ] {
            let e = refuse_controls("title", bad, Lines::One).unwrap_err();
            assert_eq!(e.field, "title", "{bad:?}");
        }
        assert!(refuse_controls("title", "Tee — größe M 🙂", Lines::One).is_ok());
    }

    #[test]
    fn multi_line_text_allows_line_feeds_and_tabs_only() {
        assert!(refuse_controls("body", "line 1\n\tline 2\n", Lines::Many).is_ok());
        for bad in ["a\0b", "a\rb", "\u{1b}[2J", "a\u{7f}", "a\u{85}b", "a\u{0b}b"] {
            let e = refuse_controls("body", bad, Lines::Many).unwrap_err();
            assert_eq!(e.field, "body", "{bad:?}");
        }
    }
}
