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
        let mut settings = Settings::default();
        settings.demo.seed = false;
        settings.http.max_scheduling_delay = std::time::Duration::ZERO;
        settings.data_dir = std::env::temp_dir()
            .join("mercato-web-tests")
            .join(uuid::Uuid::now_v7().to_string());
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
