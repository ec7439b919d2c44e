//! Keys the authority publishes but that must never verify a token: too short, or not for signing.

use devstack::issuer::Signing;

use super::{INVALID, minted, refused, setup};

#[tokio::test]
async fn weak_or_odd_rsa_keys_are_refused() {
    let (app, up, slug) = setup().await;
    // Both keys are published by the issuer when their first token is minted: mint before the first
    // exchange, so the one key set fetch the cool-down allows sees them both.
    let weak = minted(&up, |r| r.signing = Signing::WeakKey);
    let for_encryption = minted(&up, |r| r.signing = Signing::EncryptionKey);

    for (token, detail) in [
        (weak, "signing key not accepted: RSA key shorter than 2048 bits"),
        (for_encryption, "signing key not accepted: not a signature key"),
    ] {
        refused(&app, &up, &slug, &token, INVALID, "invalid_token", detail).await;
    }
}
