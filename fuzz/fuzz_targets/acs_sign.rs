//! The ACS HMAC signer on arbitrary method, URL, body, key and instant: the input is the instant's
//! seconds from the epoch (8 bytes, little-endian, signed) and nanoseconds (4 bytes), then
//! `method 0x00 url 0x00 key 0x00 body` (the body may hold more zeros).
//!
//! Invariants: no panic; the same inputs sign to the same headers, whatever the method's case; the
//! headers are valid HTTP header values that never carry the key; `x-ms-content-sha256` is the body's
//! hash, `x-ms-date` the instant (to the second) when it is writable, and the signature is the
//! HMAC-SHA256 of the reference layout, computed here independently.

#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use acs::signing::{SIGNED_HEADERS, path_and_query, sign, signed_host};
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

struct Input<'a> {
    seconds: i64,
    nanos: u32,
    method: &'a str,
    url: url::Url,
    key: &'a [u8],
    body: &'a [u8],
}

impl<'a> Input<'a> {
    fn read(data: &'a [u8]) -> Option<Self> {
        let (seconds, rest) = data.split_first_chunk::<8>()?;
        let (nanos, rest) = rest.split_first_chunk::<4>()?;
        let mut fields = rest.splitn(4, |b| *b == 0);
        let method = std::str::from_utf8(fields.next()?).ok()?;
        let url = url::Url::parse(std::str::from_utf8(fields.next()?).ok()?).ok()?;
        Some(Self {
            seconds: i64::from_le_bytes(*seconds),
            nanos: u32::from_le_bytes(*nanos),
            method,
            url,
            key: fields.next().unwrap_or_default(),
            body: fields.next().unwrap_or_default(),
        })
    }

    /// The instant, if `SystemTime` can hold it.
    fn now(&self) -> Option<SystemTime> {
        let offset = Duration::new(self.seconds.unsigned_abs(), self.nanos % 1_000_000_000);
        if self.seconds < 0 { UNIX_EPOCH.checked_sub(offset) } else { UNIX_EPOCH.checked_add(offset) }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::read(data) else { return };
    let Some(now) = input.now() else { return };
    let url = &input.url;

    let headers = sign(input.method, url, input.body, input.key, now);
    assert_eq!(headers, sign(input.method, url, input.body, input.key, now), "signing is deterministic");
    assert_eq!(headers, sign(&input.method.to_ascii_lowercase(), url, input.body, input.key, now));

    for (name, value) in headers.iter() {
        assert!(value.bytes().all(|b| (b' '..=b'~').contains(&b)), "{name}: {value:?}");
    }
    let encoded_key = STANDARD.encode(input.key);
    if encoded_key.len() >= 16 {
        assert!(!format!("{headers:?}").contains(&encoded_key), "the headers carry the key");
    }

    assert_eq!(headers.content_sha256, STANDARD.encode(Sha256::digest(input.body)));
    if let Ok(seconds) = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs())
        && seconds < 253_402_300_800
    {
        let date = httpdate::parse_http_date(&headers.date).expect("x-ms-date is an HTTP date");
        assert_eq!(date, UNIX_EPOCH + Duration::from_secs(seconds));
    }

    let message = format!(
        "{}\n{}\n{};{};{}",
        input.method.to_ascii_uppercase(),
        path_and_query(url),
        headers.date,
        signed_host(url),
        headers.content_sha256
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(input.key).expect("HMAC takes keys of any length");
    mac.update(message.as_bytes());
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(
        headers.authorization,
        format!("HMAC-SHA256 SignedHeaders={SIGNED_HEADERS}&Signature={signature}")
    );
});
