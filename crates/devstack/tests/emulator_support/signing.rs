//! A small HMAC-SHA256 request signer for the tests, written from the reference's algorithm
//! (section 3) and separate from both the emulator's verifier and the gateway's signer.

use std::time::SystemTime;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};

/// The four headers an SDK adds to a signed request.
pub struct SignedHeaders {
    pub date: String,
    pub content_sha256: String,
    pub authorization: String,
}

/// Signs `method path_and_query` with `host` (as the client will send it in `Host`) and `body`.
pub fn sign(
    key: &[u8],
    method: &str,
    path_and_query: &str,
    host: &str,
    body: &[u8],
    at: SystemTime,
) -> SignedHeaders {
    let date = httpdate::fmt_http_date(at);
    let content_sha256 = STANDARD.encode(Sha256::digest(body));
    let to_sign = [method, "\n", path_and_query, "\n", &date, ";", host, ";", &content_sha256].concat();
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(to_sign.as_bytes());
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    let authorization =
        format!("HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}");
    SignedHeaders { date, content_sha256, authorization }
}
