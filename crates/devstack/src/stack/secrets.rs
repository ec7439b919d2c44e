//! The stack's own secrets, kept in the data directory so that a restart can open what the last run
//! sealed: the sealing keyring, the emulator's access key and its resource id.

use std::{fs, io::Write, os::unix::fs::OpenOptionsExt, path::Path};

use anyhow::Context;
use base64::{Engine, engine::general_purpose::STANDARD};
use rand::RngCore;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackSecrets {
    pub keyring: String,
    #[serde(with = "base64_bytes")]
    pub access_key: Vec<u8>,
    pub resource_id: uuid::Uuid,
}

pub fn random_bytes() -> Vec<u8> {
    let mut bytes = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

pub fn decode_key(value: &str) -> anyhow::Result<Vec<u8>> {
    Ok(STANDARD.decode(value.trim())?)
}

pub fn load_or_create(dir: &Path) -> anyhow::Result<StackSecrets> {
    let path = dir.join("secrets.json");
    if path.exists() {
        let text = fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        return serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid; delete it", path.display()));
    }
    let secrets = StackSecrets {
        keyring: format!("devstack:{}", STANDARD.encode(random_bytes())),
        access_key: random_bytes(),
        resource_id: uuid::Uuid::new_v4(),
    };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(serde_json::to_string_pretty(&secrets)?.as_bytes())?;
    Ok(secrets)
}

mod base64_bytes {
    use base64::{Engine, engine::general_purpose::STANDARD};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}
