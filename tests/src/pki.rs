//! Certificates made on the spot for the TLS tests (rcgen): a CA, server certificates it
//! signs for chosen names, client certificates, and the rustls configurations that use them.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use tulip::tls::rustls;
use tulip::tls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A certificate and its private key.
#[derive(Debug)]
pub struct Leaf {
    /// The certificate (DER).
    pub cert: CertificateDer<'static>,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PKCS#8 DER.
    pub key_der: Vec<u8>,
    /// The private key, PEM.
    pub key_pem: String,
}

impl Leaf {
    /// The private key as rustls takes it.
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::try_from(self.key_der.clone()).expect("a PKCS#8 key")
    }
}

/// A test certificate authority.
#[derive(Debug)]
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    /// A new CA named `name`.
    pub fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("CA key");
        Ca {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    /// The CA's certificate (DER).
    pub fn cert(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// The CA's certificate, PEM.
    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for `names` (DNS names or IP addresses), signed by this CA.
    pub fn leaf(&self, names: &[&str]) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("leaf params");
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().cloned().unwrap_or_default(),
        );
        let key = KeyPair::generate().expect("leaf key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("leaf certificate");
        Leaf {
            cert_pem: cert.pem(),
            cert: cert.der().clone(),
            key_der: key.serialize_der(),
            key_pem: key.serialize_pem(),
        }
    }

    /// Roots holding this CA.
    pub fn roots(&self) -> rustls::RootCertStore {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.cert()).expect("add the CA");
        roots
    }

    /// A client configuration trusting this CA, without a client certificate.
    pub fn client_config(&self) -> rustls::ClientConfig {
        rustls::ClientConfig::builder()
            .with_root_certificates(self.roots())
            .with_no_client_auth()
    }

    /// A client configuration trusting this CA and presenting `leaf`.
    pub fn client_config_with_cert(&self, leaf: &Leaf) -> rustls::ClientConfig {
        rustls::ClientConfig::builder()
            .with_root_certificates(self.roots())
            .with_client_auth_cert(vec![leaf.cert.clone()], leaf.key())
            .expect("client certificate")
    }

    /// A server configuration presenting `leaf`, without client authentication.
    pub fn server_config(&self, leaf: &Leaf) -> rustls::ServerConfig {
        rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![leaf.cert.clone()], leaf.key())
            .expect("server certificate")
    }

    /// A server configuration presenting `leaf` that requires a client certificate signed
    /// by `client_ca`.
    pub fn server_config_requiring(&self, leaf: &Leaf, client_ca: &Ca) -> rustls::ServerConfig {
        let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(client_ca.roots()))
            .build()
            .expect("client verifier");
        rustls::ServerConfig::builder()
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![leaf.cert.clone()], leaf.key())
            .expect("server certificate")
    }
}

/// The usual pair: a CA and a server certificate for `localhost` and `127.0.0.1`, as
/// `(ca, server config, client config)`.
pub fn localhost() -> (Ca, Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>) {
    let ca = Ca::new("tulip test CA");
    let leaf = ca.leaf(&["localhost", "127.0.0.1"]);
    let server = Arc::new(ca.server_config(&leaf));
    let client = Arc::new(ca.client_config());
    (ca, server, client)
}
