//! A store's search synonyms: groups of words that find each other (`sneakers`, `trainers`).
//! Checked once here; the index analyses the words like any query word when it searches.

use mercato_runtime::error::{ServiceError, Validator};

const MAX_GROUPS: usize = 200;
const MAX_WORDS: usize = 20;
const MAX_WORD_CHARS: usize = 40;

/// Validated synonym groups: each of 2–20 distinct lower-case words.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Synonyms(Vec<Vec<String>>);

impl Synonyms {
    /// Checks every group, reporting each bad word under `groups[i].words[j]` at once.
    pub fn parse(groups: &[Vec<String>]) -> Result<Synonyms, ServiceError> {
        let mut v = Validator::new();
        if groups.len() > MAX_GROUPS {
            v.add("groups", "must hold at most 200 groups");
        }
        let mut parsed = Vec::with_capacity(groups.len());
        for (i, group) in groups.iter().enumerate() {
            if !(2..=MAX_WORDS).contains(&group.len()) {
                v.add(&format!("groups[{i}].words"), "must hold 2-20 words");
            }
            let mut words: Vec<String> = Vec::with_capacity(group.len());
            for (j, word) in group.iter().enumerate() {
                let word = word.trim().to_lowercase();
                let ok = (1..=MAX_WORD_CHARS).contains(&word.chars().count())
                    && word.chars().all(|c| c.is_alphanumeric() || c == '-');
                if !ok {
                    v.add(
                        &format!("groups[{i}].words[{j}]"),
                        "must be one word of 1-40 letters, digits or dashes",
                    );
                } else if words.contains(&word) {
                    v.add(&format!("groups[{i}].words[{j}]"), "is already in this group");
                } else {
                    words.push(word);
                }
            }
            parsed.push(words);
        }
        v.finish()?;
        Ok(Synonyms(parsed))
    }

    /// Groups as stored, trusted (they were parsed before they were stored).
    pub fn from_stored(groups: Vec<Vec<String>>) -> Synonyms {
        Synonyms(groups)
    }

    pub fn groups(&self) -> &[Vec<String>] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(g: &[&[&str]]) -> Vec<Vec<String>> {
        g.iter()
            .map(|w| w.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    #[test]
    fn words_are_trimmed_and_lower_cased() {
        let s = Synonyms::parse(&groups(&[&[" Sneakers", "TRAINERS"]])).unwrap();
        assert_eq!(s.groups(), groups(&[&["sneakers", "trainers"]]));
    }

    #[test]
    fn every_bad_group_and_word_is_named() {
        let e = Synonyms::parse(&groups(&[&["alone"], &["power bank", "charger", "Charger"]])).unwrap_err();
        let fields: Vec<_> = e.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            ["groups[0].words", "groups[1].words[0]", "groups[1].words[2]"]
        );
    }
}
