//! A metric family declared once, next to the code that records it: its name is a constant (a
//! typo is a compile error, not a new series), and its help text is the constant's doc comment,
//! which [`Family::describe`] hands to the exporter for the `# HELP` line.
//!
//! ```
//! mercato_runtime::metric_families! {
//!     /// Widgets made, by colour.
//!     pub const WIDGETS_MADE: Counter(Count) = "widgets_made_total";
//! }
//! assert_eq!(WIDGETS_MADE.name, "widgets_made_total");
//! assert_eq!(WIDGETS_MADE.help(), "Widgets made, by colour.");
//! metrics::counter!(WIDGETS_MADE.name, "colour" => "red").increment(1);
//! ```

pub use metrics::Unit;

/// What a family's series are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One metric family: the name its series are recorded under, and how the exporter describes it.
#[derive(Debug, Clone, Copy)]
pub struct Family {
    /// The name recorded under (the exporter adds the `mercato_` prefix).
    pub name: &'static str,
    kind: Kind,
    unit: Unit,
    /// The doc comment's lines, joined; each begins with the space after `///`.
    doc: &'static str,
}

impl Family {
    /// Used by [`metric_families!`](crate::metric_families); write the macro instead.
    #[doc(hidden)]
    pub const fn new(kind: Kind, name: &'static str, unit: Unit, doc: &'static str) -> Family {
        Family {
            name,
            kind,
            unit,
            doc,
        }
    }

    /// The help text: the doc comment on one line.
    pub fn help(&self) -> &'static str {
        self.doc.trim()
    }

    /// Registers the unit and help text with the installed recorder.
    pub fn describe(&self) {
        let (name, unit, help) = (self.name, self.unit, self.help());
        match self.kind {
            Kind::Counter => metrics::describe_counter!(name, unit, help),
            Kind::Gauge => metrics::describe_gauge!(name, unit, help),
            Kind::Histogram => metrics::describe_histogram!(name, unit, help),
        }
    }

    /// Describes each of `families`.
    pub fn describe_all(families: &[Family]) {
        families.iter().for_each(Family::describe);
    }
}

/// Declares metric families as constants: `/// help` then `vis const NAME: Kind(Unit) = "name";`,
/// where `Kind` is `Counter`, `Gauge` or `Histogram` and `Unit` a [`metrics::Unit`] variant.
#[macro_export]
macro_rules! metric_families {
    ($(
        $(#[doc = $doc:literal])+
        $vis:vis const $constant:ident: $kind:ident($unit:ident) = $name:literal;
    )+) => {$(
        $(#[doc = $doc])+
        $vis const $constant: $crate::metric_family::Family = $crate::metric_family::Family::new(
            $crate::metric_family::Kind::$kind,
            $name,
            $crate::metric_family::Unit::$unit,
            concat!($($doc),+),
        );
    )+};
}

#[cfg(test)]
mod tests {
    crate::metric_families! {
        /// Checks made, by outcome; a help text
        /// written over two lines.
        const CHECKS: Histogram(Seconds) = "checks_seconds";
    }

    #[test]
    fn the_doc_comment_becomes_one_line_of_help() {
        assert_eq!(CHECKS.name, "checks_seconds");
        assert_eq!(
            CHECKS.help(),
            "Checks made, by outcome; a help text written over two lines."
        );
    }
}
