//! API keys, shared by both transports: `service.api_key` grants everything,
//! `service.read_only_api_key` grants reads. A key comes in the `api-key`
//! header (gRPC: metadata) or as `authorization: Bearer <key>`. Which
//! requests are reads, and which stay open, is each transport's business.

use axum::http::HeaderMap;

#[derive(Debug, Clone, Default)]
pub struct ApiKeys {
    pub full: Option<String>,
    pub read_only: Option<String>,
}

/// Why a request was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No key was presented (401 / Unauthenticated).
    Missing,
    /// The key matches neither configured key (401 / Unauthenticated).
    Invalid,
    /// The read-only key was presented for a write (403 / PermissionDenied).
    ReadOnly,
}

impl Denied {
    pub fn message(self) -> &'static str {
        match self {
            Denied::Missing => "Must provide an API key or an Authorization bearer token",
            Denied::Invalid => "Invalid API key or token",
            Denied::ReadOnly => "Forbidden: the read-only API key cannot write",
        }
    }
}

impl ApiKeys {
    pub fn enabled(&self) -> bool {
        self.full.is_some() || self.read_only.is_some()
    }

    /// Checks the key in `headers` for a request that only reads when
    /// `read` is true.
    pub fn authorize(&self, headers: &HeaderMap, read: bool) -> Result<(), Denied> {
        if !self.enabled() {
            return Ok(());
        }
        let key = presented_key(headers).ok_or(Denied::Missing)?;
        if self.full.as_deref().is_some_and(|k| same(k, key)) {
            return Ok(());
        }
        if self.read_only.as_deref().is_some_and(|k| same(k, key)) {
            return if read { Ok(()) } else { Err(Denied::ReadOnly) };
        }
        Err(Denied::Invalid)
    }
}

fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(key) = headers.get("api-key").and_then(|v| v.to_str().ok()) {
        return Some(key);
    }
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// Constant-time comparison, so response timing does not leak the key.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("header value"));
        }
        map
    }

    #[test]
    fn keys_grant_what_they_should() {
        let keys = ApiKeys {
            full: Some("admin".into()),
            read_only: Some("reader".into()),
        };
        assert_eq!(keys.authorize(&headers(&[]), true), Err(Denied::Missing));
        assert_eq!(
            keys.authorize(&headers(&[("api-key", "x")]), true),
            Err(Denied::Invalid)
        );
        assert_eq!(
            keys.authorize(&headers(&[("api-key", "admin")]), false),
            Ok(())
        );
        let bearer = headers(&[("authorization", "Bearer reader")]);
        assert_eq!(keys.authorize(&bearer, true), Ok(()));
        assert_eq!(keys.authorize(&bearer, false), Err(Denied::ReadOnly));
        assert_eq!(ApiKeys::default().authorize(&headers(&[]), false), Ok(()));
    }
}
