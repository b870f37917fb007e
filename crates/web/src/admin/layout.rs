//! The admin's page frame (`templates/admin/layout.html`): every admin page's template has the
//! fields `store` (the slug), `csrf` (the sign-out form's token, and its own forms') and `nav`
//! (the navigation link of its section: `home`, `products`, `stock`, `orders`, `customers`,
//! `conversations`, `staff`, `api-clients`, `jobs`, `webhooks`, `email-templates` or
//! `notifications`), and fills the blocks `title` and `content`.

use askama::Template;

/// The section of a page: which navigation link is the current one.
pub(crate) type Section = &'static str;

/// A refusal or failure, in words, inside the admin's frame.
#[derive(Template)]
#[template(path = "admin/error.html")]
pub(crate) struct ErrorPage {
    pub store: String,
    pub csrf: String,
    pub nav: Section,
    pub title: &'static str,
    pub message: String,
}
