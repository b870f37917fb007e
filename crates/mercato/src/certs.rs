//! `mercato certs init --dir DIR`: a development CA and one certificate per service, for the
//! local cluster and compose (ADR 0008). Kubernetes gets its certificates from cert-manager
//! instead (deploy/k8s), with the same names.

use clap::Subcommand;
use std::fmt::Write;
use std::path::PathBuf;

#[derive(Subcommand, Debug, Clone)]
pub enum CertsCommand {
    /// Write `ca.pem`/`ca.key` and `<service>.pem`/`<service>.key` for every service into DIR;
    /// a directory that already holds a CA is left as it is.
    Init {
        /// Where the files go (created if missing).
        #[arg(long)]
        dir: PathBuf,
    },
}

/// Runs a certs command and returns what it prints.
pub fn run(command: &CertsCommand) -> anyhow::Result<String> {
    match command {
        CertsCommand::Init { dir } => init(dir),
    }
}

fn init(dir: &std::path::Path) -> anyhow::Result<String> {
    let written = mercato_runtime::tls::issue::init_dir(dir)?;
    let mut out = String::new();
    if written.is_empty() {
        writeln!(out, "{} already holds a CA; nothing written", dir.display())?;
    }
    for file in &written {
        writeln!(out, "wrote {}", file.display())?;
    }
    writeln!(
        out,
        "a process running SERVICE uses them with MERCATO__SERVICES__TLS__CA={0}/ca.pem \
         MERCATO__SERVICES__TLS__CERT={0}/SERVICE.pem MERCATO__SERVICES__TLS__KEY={0}/SERVICE.key",
        dir.display()
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_writes_a_ca_and_every_service_once() {
        let dir = std::env::temp_dir().join(format!("mercato-certs-{}", uuid::Uuid::new_v4()));
        let first = run(&CertsCommand::Init { dir: dir.clone() }).unwrap();
        for service in mercato_runtime::tls::SERVICES {
            assert!(first.contains(&format!("{service}.key")), "{first}");
            let files = mercato_runtime::config::TlsFiles {
                ca: dir.join("ca.pem"),
                cert: dir.join(format!("{service}.pem")),
                key: dir.join(format!("{service}.key")),
            };
            mercato_runtime::tls::ServerTls::load(&files).unwrap();
        }
        let ca = std::fs::read(dir.join("ca.pem")).unwrap();
        let again = run(&CertsCommand::Init { dir: dir.clone() }).unwrap();
        assert!(again.contains("nothing written"), "{again}");
        assert_eq!(std::fs::read(dir.join("ca.pem")).unwrap(), ca);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("payments.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "keys are private");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
