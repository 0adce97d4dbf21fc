//! `Transport::start_tls`: a protocol server that switches to TLS on request (STARTTLS).
//!
//! Case from CPython's Lib/test/test_asyncio/test_sslproto.py (test_start_tls_server_1:
//! a plain exchange, then `loop.start_tls` on the server's transport, then an encrypted
//! exchange); the code is ours.

use std::io;
use std::sync::Arc;

use tulip_net::streams::open_connection;
use tulip_net::tls::{rustls, TlsOptions};
use tulip_protocol::{Protocol, Transport};

fn configs() -> (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    let server = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), Arc::new(client))
}

/// Answers `STARTTLS\n` with `GO\n` and upgrades; afterwards echoes in upper case.
struct StartTls {
    t: Option<Transport>,
    config: Arc<rustls::ServerConfig>,
}

impl Protocol for StartTls {
    fn connection_made(&mut self, t: Transport) {
        self.t = Some(t);
    }
    fn data_received(&mut self, data: &[u8]) {
        let t = self.t.as_ref().unwrap();
        if data == b"STARTTLS\n" {
            t.write(b"GO\n");
            let upgrade = t.start_tls(TlsOptions::server(self.config.clone()));
            tulip_executor::spawn(async move {
                upgrade.await.expect("the server's handshake");
            })
            .detach();
        } else {
            assert!(
                t.tls_info().is_some(),
                "only the STARTTLS line is in the clear"
            );
            t.write(&data.to_ascii_uppercase());
        }
    }
}

#[test]
fn start_tls_upgrades_a_protocol_transport_in_place() {
    let (server_config, client_config) = configs();
    tulip_runtime::run(async move {
        let server = tulip_protocol::create_server(
            move || StartTls {
                t: None,
                config: server_config.clone(),
            },
            "127.0.0.1:0",
        )
        .await?;
        let addr = server.local_addrs()[0].as_inet().unwrap();
        let (mut r, w) = open_connection(addr).await?;
        w.write(b"STARTTLS\n");
        assert_eq!(r.readline().await.unwrap(), b"GO\n");
        w.start_tls(&mut r, client_config, "localhost").await?;
        w.write(b"secret\n");
        assert_eq!(r.readline().await.unwrap(), b"SECRET\n");
        assert!(w.tls_info().is_some());
        server.close();
        io::Result::Ok(())
    })
    .unwrap();
}
