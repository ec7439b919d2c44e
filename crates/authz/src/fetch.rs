//! Reading an upstream answer with a size bound, so a hostile or broken vendor endpoint cannot make
//! the gateway buffer without limit.

#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("answer larger than {0} bytes")]
    TooLarge(usize),
}

pub async fn bounded_body(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|length| length > limit as u64) {
        return Err(BodyError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
