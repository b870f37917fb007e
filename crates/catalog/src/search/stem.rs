//! A light English stemmer for the index and the queries alike: plurals to their singular and a
//! final silent `e` dropped, so that `boots` and `boot`, `sandals` and `sandal` meet, and a typo
//! such as `sandles` lands one edit from `sandal` (`sandl` against `sandal`).
//!
//! It is deliberately lighter than Porter's: no `-ed`/`-ing` rules, which in a shop's vocabulary
//! join more than they should (`rugged` with `rug`). Words of up to 4 characters and words with
//! characters beyond ASCII letters are left as they are.

use std::borrow::Cow;
use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// The stem of one lower-case word. A final `y` becomes `i`, so that `battery` and `batteries`
/// (`batterie`, less its `e`) meet.
pub fn stem(word: &str) -> Cow<'_, str> {
    if word.len() <= 4 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return Cow::Borrowed(word);
    }
    let singular = singular(word);
    if let Some(rest) = singular.strip_suffix('y') {
        return Cow::Owned(format!("{rest}i"));
    }
    match singular.strip_suffix('e') {
        Some(rest) if singular.len() >= 5 => Cow::Borrowed(rest),
        _ => Cow::Borrowed(singular),
    }
}

/// `glasses` → `glass`, `benches` → `bench`, `boots` → `boot`; `canvas`, `atlas`, `cactus` and `chassis`
/// stay.
fn singular(word: &str) -> &str {
    if word.ends_with("sses") || word.ends_with("shes") || word.ends_with("ches") || word.ends_with("xes") {
        return &word[..word.len() - 2];
    }
    if ["ss", "us", "is", "as"].iter().any(|end| word.ends_with(end)) {
        return word;
    }
    word.strip_suffix('s').unwrap_or(word)
}

/// The token filter that replaces each token by its [`stem`].
#[derive(Clone, Copy, Debug, Default)]
pub struct LightEnglishStemmer;

impl TokenFilter for LightEnglishStemmer {
    type Tokenizer<T: Tokenizer> = StemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> StemmerFilter<T> {
        StemmerFilter { inner: tokenizer }
    }
}

#[derive(Clone)]
pub struct StemmerFilter<T> {
    inner: T,
}

impl<T: Tokenizer> Tokenizer for StemmerFilter<T> {
    type TokenStream<'a> = StemmerStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        StemmerStream {
            tail: self.inner.token_stream(text),
        }
    }
}

pub struct StemmerStream<S> {
    tail: S,
}

impl<S: TokenStream> TokenStream for StemmerStream<S> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        if let Cow::Owned(stemmed) = stem(&token.text) {
            token.text = stemmed;
        } else {
            let len = stem(&token.text).len();
            token.text.truncate(len);
        }
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::stem;

    #[test]
    fn plurals_and_singulars_share_a_stem() {
        for (a, b) in [
            ("boots", "boot"),
            ("sandals", "sandal"),
            ("shoes", "shoe"),
            ("cables", "cable"),
            ("glasses", "glass"),
            ("headphones", "headphone"),
            ("benches", "bench"),
            ("batteries", "battery"),
        ] {
            assert_eq!(stem(a), stem(b), "{a} and {b}");
        }
    }

    #[test]
    fn short_words_and_non_plural_endings_are_kept() {
        assert_eq!(stem("boot"), "boot");
        assert_eq!(stem("bus"), "bus");
        assert_eq!(stem("canvas"), "canvas");
        assert_eq!(stem("chinos"), "chino");
        assert_eq!(stem("rugged"), "rugged");
        assert_eq!(stem("café"), "café");
    }

    #[test]
    fn a_typo_lands_one_edit_from_the_stem() {
        assert_eq!(stem("sandles"), "sandl");
        assert_eq!(stem("sandals"), "sandal");
    }
}
