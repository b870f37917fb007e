//! NATS subject matching, so that the in-process bus routes exactly as NATS would.

/// Whether `subject` matches `filter`: tokens split on `.`, `*` matches one token and `>`
/// matches one or more trailing tokens.
pub fn subject_matches(filter: &str, subject: &str) -> bool {
    let mut f = filter.split('.');
    let mut s = subject.split('.');
    loop {
        match (f.next(), s.next()) {
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::subject_matches;

    #[test]
    fn wildcards_match_like_nats() {
        assert!(subject_matches("mercato.>", "mercato.catalog.product_updated"));
        assert!(subject_matches(
            "mercato.catalog.*",
            "mercato.catalog.product_updated"
        ));
        assert!(!subject_matches("mercato.catalog.*", "mercato.catalog.a.b"));
        assert!(!subject_matches("mercato.>", "mercato"));
        assert!(subject_matches("a.b", "a.b"));
        assert!(!subject_matches("a.b", "a.b.c"));
        assert!(!subject_matches("a.b.c", "a.b"));
    }
}
