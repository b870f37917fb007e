//! Starts an embedded platform (every role in this process) on a free port.

use mercato::app;
use mercato::roles::Roles;
use mercato_runtime::config::Settings;
use mercato_runtime::shutdown::Shutdown;

/// A running platform; stops when dropped.
pub struct Platform {
    pub base: String,
    pub http: reqwest::Client,
    shutdown: Shutdown,
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Platform {
    /// An embedded platform without the demo store.
    pub async fn start() -> Platform {
        Platform::start_with(|_| {}).await
    }

    /// An embedded platform without the demo store, its settings adjusted by `adjust`.
    pub async fn start_with(adjust: fn(&mut Settings)) -> Platform {
        let mut settings = Settings::default();
        settings.demo.seed = false;
        settings.http.max_scheduling_delay = std::time::Duration::ZERO;
        settings.data_dir = std::env::temp_dir()
            .join("mercato-web-tests")
            .join(uuid::Uuid::now_v7().to_string());
        adjust(&mut settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = Shutdown::new();
        let app = app::App::build(&settings, Roles::parse("all").unwrap())
            .await
            .expect("the platform builds");
        tokio::spawn(app.serve(listener, shutdown.clone()));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Platform { base, http, shutdown }
    }
}

/// A browser without script: it keeps cookies as `Set-Cookie` says and sends this site's
/// `Origin` with its forms.
pub struct Browser<'a> {
    pub platform: &'a Platform,
    pub cookies: std::collections::BTreeMap<String, String>,
    /// Every `Set-Cookie` received, as sent.
    pub set_cookies: Vec<String>,
}

/// A page as the browser got it.
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub html: String,
}

impl<'a> Browser<'a> {
    pub fn new(platform: &'a Platform) -> Browser<'a> {
        Browser {
            platform,
            cookies: Default::default(),
            set_cookies: Vec::new(),
        }
    }

    pub fn csrf(&self) -> String {
        self.cookies.get("mercato_csrf").cloned().expect("a CSRF cookie")
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.platform.http.get(format!("{}{path}", self.platform.base));
        self.send(request).await
    }

    /// Posts a form with this site's origin and the CSRF token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf();
        let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        let request = self
            .platform
            .http
            .post(format!("{}{path}", self.platform.base))
            .header("origin", self.platform.base.clone())
            .form(&form);
        self.send(request).await
    }

    pub async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = if cookie.is_empty() {
            request
        } else {
            request.header("cookie", cookie)
        };
        let response = request.send().await.expect("the request is answered");
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap().to_owned();
            let (pair, _) = text.split_once(';').unwrap_or((&text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if text.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
            self.set_cookies.push(text);
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let html = response.text().await.unwrap();
        Page {
            status,
            location,
            html,
        }
    }
}

/// A store with one product whose title is markup, in stock, that needs no shipping; returns
/// its slug and the product's slug.
pub async fn store_with_product(p: &Platform, title: &str) -> (String, String) {
    let slug = format!("web-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let api = |path: &str| format!("{}{path}", p.base);
    let body = serde_json::json!({"slug": slug, "name": "Web Shop", "currency": "EUR",
        "owner": {"email": "owner@example.com", "password": "correct horse battery"}});
    let reply = p.http.post(api("/v1/stores")).json(&body).send().await.unwrap();
    assert_eq!(reply.status(), 201);
    let token: serde_json::Value = p
        .http
        .post(api("/v1/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("store", &slug),
            ("username", "owner@example.com"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let product = serde_json::json!({"slug": "thing", "title": title, "status": "active",
        "variants": [{"sku": "THING-1", "title": "One", "requires_shipping": false,
            "price": {"amount_minor": 1250, "currency": "EUR"}}]});
    let reply = p
        .http
        .post(api(&format!("/v1/stores/{slug}/products")))
        .bearer_auth(&token)
        .json(&product)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201, "{}", reply.text().await.unwrap());
    let reply = p
        .http
        .put(api(&format!("/v1/stores/{slug}/inventory/THING-1")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"on_hand": 10}))
        .send()
        .await
        .unwrap();
    assert!(reply.status().is_success(), "{}", reply.text().await.unwrap());
    // The orders service learns the SKU from the catalog's event.
    for _ in 0..100 {
        let cart: serde_json::Value = p
            .http
            .post(api(&format!("/v1/stores/{slug}/carts")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let added = p
            .http
            .post(api(&format!(
                "/v1/stores/{slug}/carts/{}/items",
                cart["id"].as_str().unwrap()
            )))
            .header("x-cart-token", cart["cart_token"].as_str().unwrap())
            .json(&serde_json::json!({"sku": "THING-1", "quantity": 1}))
            .send()
            .await
            .unwrap();
        if added.status().is_success() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    (slug, "thing".to_owned())
}
