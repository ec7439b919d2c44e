//! `If-Match` (RFC 9110 §13.1.1) on tenant changes: `*`, or a list of entity tags of which any may
//! match. Our ETags are strong (`"<version>"`); a weak tag or a tag we never issued matches nothing.

use actix_web::http::header::{self, HeaderMap};

use super::{AdminError, tenant::AdminTenant};

#[derive(Debug, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: the tenant must exist, at any version.
    Any,
    /// The versions the listed tags name (possibly none).
    Versions(Vec<i64>),
}

impl IfMatch {
    /// Reads every `If-Match` field; `None` when there is none.
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<Self>, AdminError> {
        let mut fields = headers.get_all(header::IF_MATCH).peekable();
        if fields.peek().is_none() {
            return Ok(None);
        }
        let mut versions = Vec::new();
        for field in fields {
            let field =
                field.to_str().map_err(|_| AdminError::InvalidRequest("If-Match is not readable".into()))?;
            for tag in field.split(',').map(str::trim).filter(|tag| !tag.is_empty()) {
                if tag == "*" {
                    return Ok(Some(Self::Any));
                }
                let version = tag
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .and_then(|v| v.parse::<i64>().ok());
                versions.extend(version);
            }
        }
        Ok(Some(Self::Versions(versions)))
    }

    fn matches(&self, version: i64) -> bool {
        match self {
            Self::Any => true,
            Self::Versions(versions) => versions.contains(&version),
        }
    }

    /// `current`, when a change to the tenant at that version is allowed; otherwise a 412 naming it.
    pub fn admit(&self, current: i64) -> Result<i64, AdminError> {
        if self.matches(current) { Ok(current) } else { Err(AdminError::PreconditionFailed { current }) }
    }
}

/// The version a change must apply to (`None`: any), checked against the tenant now when several
/// tags are listed: a change whose tags all name other versions is refused here, and the registry
/// checks the version again as it writes. The tenant is read only then, and at most once a request.
pub async fn expected_version(
    if_match: Option<IfMatch>,
    tenant: &AdminTenant,
) -> Result<Option<i64>, AdminError> {
    let Some(if_match @ IfMatch::Versions(versions)) = &if_match else { return Ok(None) };
    if let [single] = versions.as_slice() {
        return Ok(Some(*single));
    }
    if_match.admit(tenant.current().await?.version).map(Some)
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;

    fn parse(fields: &[&str]) -> Option<IfMatch> {
        let mut headers = HeaderMap::new();
        for field in fields {
            headers.append(header::IF_MATCH, HeaderValue::from_str(field).unwrap());
        }
        IfMatch::from_headers(&headers).unwrap()
    }

    #[test]
    fn every_listed_tag_is_read_and_any_of_them_may_match() {
        assert_eq!(parse(&[]), None);
        assert_eq!(parse(&["\"3\""]), Some(IfMatch::Versions(vec![3])));
        let listed = parse(&["\"1\", \"2\"", "\"7\""]).unwrap();
        assert_eq!(listed, IfMatch::Versions(vec![1, 2, 7]));
        assert!(listed.matches(2) && listed.matches(7) && !listed.matches(3));
        assert_eq!(parse(&["\"1\", *"]), Some(IfMatch::Any));
    }

    #[test]
    fn weak_and_foreign_tags_match_nothing() {
        let tags = parse(&["W/\"1\", \"abc\", 2"]).unwrap();
        assert_eq!(tags, IfMatch::Versions(vec![]));
        assert!(!tags.matches(1));
    }
}
