//! The words of an outbound error: what the endpoint's owner may read, and the detail only
//! the server's log gets.

use std::fmt;

/// Why a request was refused or failed.
#[derive(Clone, Debug)]
pub struct Reason {
    public: String,
    /// `None` when the public words are the whole story.
    detail: Option<String>,
}

impl Reason {
    /// A reason with nothing to hide.
    pub fn public(words: impl Into<String>) -> Reason {
        Reason {
            public: words.into(),
            detail: None,
        }
    }

    /// A reason whose `detail` (addresses, the resolver's message) stays in the server's log.
    pub fn private(public: impl Into<String>, detail: impl Into<String>) -> Reason {
        Reason {
            public: public.into(),
            detail: Some(detail.into()),
        }
    }

    /// The full reason.
    pub fn detail(&self) -> &str {
        self.detail.as_deref().unwrap_or(&self.public)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.public)
    }
}
