//! Messages a form shows next to its fields: the API's (`errors` of a problem document) and
//! the few the admin finds itself reading a field (a price that is not a number).

use crate::api::{ApiError, sentence};

/// Field name → message, first message per field kept.
#[derive(Clone, Default, Debug)]
pub(crate) struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    /// The API's field errors, as sentences.
    pub(crate) fn of(error: &ApiError) -> FieldErrors {
        let mut errors = FieldErrors::default();
        for f in &error.fields {
            errors.add(&f.field, &f.message);
        }
        errors
    }

    pub(crate) fn add(&mut self, field: &str, message: &str) {
        if self.get(field).is_none() {
            self.0.push((field.to_owned(), sentence(message)));
        }
    }

    /// The message for `field`, for templates: `{% if let Some(e) = errors.get("title") %}`.
    pub(crate) fn get(&self, field: &str) -> Option<&String> {
        self.0.iter().find(|(f, _)| f == field).map(|(_, m)| m)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The messages of fields not in `shown`, for the form's summary: a refusal never goes
    /// unsaid because no input carries its field.
    pub(crate) fn others(&self, shown: &[&str]) -> Vec<String> {
        self.0
            .iter()
            .filter(|(f, _)| !shown.contains(&f.as_str()))
            .map(|(f, m)| format!("{}: {m}", f.replace('_', " ")))
            .collect()
    }
}
