//! A development certificate authority and per-service certificates: what `mercato certs init`
//! writes for the local cluster and compose, and what the tests use. Production certificates
//! come from cert-manager (deploy/k8s) with the same names; nothing here is needed there.

use super::{SERVICES, dns_name};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

/// How long a development CA is valid.
const CA_VALIDITY: Duration = Duration::days(5 * 365);
/// How long a development service certificate is valid.
const SERVICE_VALIDITY: Duration = Duration::days(365);

/// A certificate and its private key, both PEM.
pub struct IssuedCert {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A CA able to sign service certificates, held in memory.
pub struct DevCa {
    issuer: Issuer<'static, KeyPair>,
    own: IssuedCert,
}

impl DevCa {
    /// A new self-signed CA named `name`.
    pub fn generate(name: &str) -> anyhow::Result<Self> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = distinguished_name(name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        (params.not_before, params.not_after) = validity(CA_VALIDITY);
        let cert = params.self_signed(&key)?;
        let own = IssuedCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        };
        Ok(DevCa {
            issuer: Issuer::new(params, key),
            own,
        })
    }

    /// The CA certificate, the trust anchor every service is given.
    pub fn cert(&self) -> &IssuedCert {
        &self.own
    }

    /// A certificate speaking for `services` (one DNS name each), usable as a server's and as a
    /// client's, with a fresh key and a random serial.
    pub fn issue(&self, services: &[&str]) -> anyhow::Result<IssuedCert> {
        anyhow::ensure!(!services.is_empty(), "a certificate names at least one service");
        let key = KeyPair::generate()?;
        let names: Vec<String> = services.iter().map(|s| dns_name(s)).collect();
        let mut params = CertificateParams::new(names)?;
        params.distinguished_name = distinguished_name(&services.join("+"));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        (params.not_before, params.not_after) = validity(SERVICE_VALIDITY);
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(IssuedCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

fn distinguished_name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "Mercato");
    name.push(DnType::CommonName, common_name);
    name
}

/// From a minute ago (clocks of a cluster differ a little) for `length`.
fn validity(length: Duration) -> (OffsetDateTime, OffsetDateTime) {
    let now = OffsetDateTime::now_utc();
    (now - Duration::minutes(1), now + length)
}

/// The files of one identity in a certificate directory: `<name>.pem` and `<name>.key`.
pub fn identity_paths(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    (dir.join(format!("{name}.pem")), dir.join(format!("{name}.key")))
}

/// Writes a certificate and its key (the key readable by the owner only).
pub fn write_identity(dir: &Path, name: &str, issued: &IssuedCert) -> anyhow::Result<()> {
    let (cert, key) = identity_paths(dir, name);
    write_private(&key, &issued.key_pem)?;
    std::fs::write(&cert, &issued.cert_pem).map_err(|e| anyhow::anyhow!("writing {}: {e}", cert.display()))
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

/// `mercato certs init`: a CA (`ca.pem`, `ca.key`) and one certificate per service in `dir`.
/// A directory that already holds a CA is left as it is, so running it again is harmless;
/// returns the files written.
pub fn init_dir(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if dir.join("ca.pem").exists() {
        return Ok(Vec::new());
    }
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
    let ca = DevCa::generate("Mercato development CA")?;
    let mut written = Vec::new();
    for service in SERVICES {
        write_identity(dir, service, &ca.issue(&[service])?)?;
        let (cert, key) = identity_paths(dir, service);
        written.extend([cert, key]);
    }
    // The CA last: its presence marks a complete directory.
    write_identity(dir, "ca", ca.cert())?;
    let (cert, key) = identity_paths(dir, "ca");
    written.extend([cert, key]);
    Ok(written)
}
