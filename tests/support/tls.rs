//! Certificates for HTTPS servers: a CA per server, the serving certificate, client
//! certificates, and reading the user (CN) out of a verified client certificate.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig, crypto::ring};

/// A certificate authority that can sign.
struct Authority {
    pem: String,
    der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

impl Authority {
    fn new(name: &str) -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("no names to check");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("ring generates P-256 keys");
        let cert = params.self_signed(&key).expect("CA parameters are valid");
        Authority { pem: cert.pem(), der: cert.der().clone(), issuer: Issuer::new(params, key) }
    }

    /// Signs a leaf certificate; returns (certificate PEM, DER, PKCS#8 key DER, key PEM).
    fn sign(
        &self,
        params: CertificateParams,
    ) -> (String, CertificateDer<'static>, Vec<u8>, String) {
        let key = KeyPair::generate().expect("ring generates P-256 keys");
        let cert = params.signed_by(&key, &self.issuer).expect("leaf parameters are valid");
        (cert.pem(), cert.der().clone(), key.serialize_der(), key.serialize_pem())
    }
}

/// The keys and certificates of one HTTPS server.
pub struct Pki {
    ca: Authority,
    serving_chain: Vec<CertificateDer<'static>>,
    serving_key: Vec<u8>,
}

impl Pki {
    /// A fresh CA and a serving certificate for 127.0.0.1 and localhost, signed by that CA or,
    /// with `unknown_ca`, by another CA that no kubeconfig trusts.
    pub fn new(unknown_ca: bool) -> Pki {
        let ca = Authority::new("debatemesh-test-ca");
        let other = unknown_ca.then(|| Authority::new("some-other-ca"));
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .expect("serving names are valid");
        params.distinguished_name.push(DnType::CommonName, "kube-apiserver");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let (_, der, key, _) = other.as_ref().unwrap_or(&ca).sign(params);
        Pki { ca, serving_chain: vec![der], serving_key: key }
    }

    pub fn ca_pem(&self) -> &str {
        &self.ca.pem
    }

    /// A client certificate with `CN=user` (and `O=` per group), signed by the CA:
    /// returns (certificate PEM, key PEM).
    pub fn client_cert(&self, user: &str, groups: &[&str]) -> (String, String) {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("no names to check");
        params.distinguished_name.push(DnType::CommonName, user);
        for g in groups {
            params.distinguished_name.push(DnType::OrganizationName, *g);
        }
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let (cert, _, _, key) = self.ca.sign(params);
        (cert, key)
    }

    /// The rustls configuration: HTTP/1.1 only, client certificates optional but verified
    /// against the CA when `client_certs`.
    pub fn server_config(&self, client_certs: bool) -> Arc<ServerConfig> {
        let provider = Arc::new(ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions");
        let builder = if client_certs {
            let mut roots = RootCertStore::empty();
            roots.add(self.ca.der.clone()).expect("the CA certificate parses");
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .expect("one root makes a verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.serving_key.clone()));
        let mut config = builder
            .with_single_cert(self.serving_chain.clone(), key)
            .expect("the serving key matches its certificate");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

/// Reads one DER TLV: (tag, contents, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*input.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let contents = input.get(header..header.checked_add(len)?)?;
    Some((tag, contents, &input[header + len..]))
}

/// The subject common name of a DER certificate, the user name the apiserver takes.
pub fn common_name(der: &[u8]) -> Option<String> {
    let (_, cert, _) = tlv(der)?;
    let (_, tbs, _) = tlv(cert)?;
    let mut rest = tbs;
    if rest.first() == Some(&0xa0) {
        rest = tlv(rest)?.2;
    }
    // serialNumber, signature, issuer, validity, then subject.
    for _ in 0..4 {
        rest = tlv(rest)?.2;
    }
    let (_, mut subject, _) = tlv(rest)?;
    while !subject.is_empty() {
        let (_, mut set, next) = tlv(subject)?;
        subject = next;
        while !set.is_empty() {
            let (_, attribute, after) = tlv(set)?;
            set = after;
            let (tag, oid, value) = tlv(attribute)?;
            if tag == 0x06 && oid == [0x55, 0x04, 0x03] {
                return String::from_utf8(tlv(value)?.1.to_vec()).ok();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_name_of_issued_client_cert() {
        let pki = Pki::new(false);
        let (pem, _) = pki.client_cert("alice", &["devs"]);
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = crate::support::util::base64_decode(&body).unwrap();
        assert_eq!(common_name(&der).as_deref(), Some("alice"));
    }
}
