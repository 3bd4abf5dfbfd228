//! Which tenant a request belongs to.
//!
//! With `auth_enabled: false` every request is tenant `fake` (the header is ignored, as
//! in Loki). With auth on, `X-Scope-OrgID` is required (401 `no org id`); queries may
//! name several tenants as `a|b`, pushes exactly one. Tenant ids are checked with
//! Loki's rules: at most 150 characters of `[a-zA-Z0-9!-_.*'()]`, not `.` or `..`.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error_response;

/// The tenant of every request when auth is disabled.
pub const FAKE_TENANT: &str = "fake";

/// The header carrying the tenant id.
pub const ORG_ID_HEADER: &str = "X-Scope-OrgID";

const MAX_TENANT_ID_LEN: usize = 150;

/// Why a request has no usable tenant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    /// Auth is on and the header is missing (401).
    #[error("no org id")]
    Missing,
    /// A push named several tenants (400).
    #[error("multiple org IDs present")]
    Multiple,
    /// A tenant id breaks Loki's rules (400).
    #[error("{0}")]
    Invalid(String),
}

impl IntoResponse for TenantError {
    fn into_response(self) -> Response {
        let status = match self {
            TenantError::Missing => StatusCode::UNAUTHORIZED,
            TenantError::Multiple | TenantError::Invalid(_) => StatusCode::BAD_REQUEST,
        };
        error_response(status, self)
    }
}

fn validate(id: &str) -> Result<(), TenantError> {
    if id.len() > MAX_TENANT_ID_LEN {
        return Err(TenantError::Invalid(format!(
            "tenant ID is too long: max {MAX_TENANT_ID_LEN} characters"
        )));
    }
    if id == "." || id == ".." {
        return Err(TenantError::Invalid("tenant ID is '.' or '..'".to_string()));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "!-_.*'()".contains(*c)))
    {
        return Err(TenantError::Invalid(format!(
            "tenant ID '{id}' contains unsupported character '{c}'"
        )));
    }
    Ok(())
}

fn header_value(headers: &HeaderMap) -> Result<&str, TenantError> {
    let value = headers
        .get(ORG_ID_HEADER)
        .map(|v| {
            v.to_str()
                .map_err(|_| TenantError::Invalid("tenant ID is not valid text".into()))
        })
        .transpose()?
        .map(str::trim)
        .unwrap_or("");
    if value.is_empty() {
        return Err(TenantError::Missing);
    }
    Ok(value)
}

/// The tenant(s) of a query: one id, or several joined by `|` when `multi_tenant` is on.
/// The answer is normalised (sorted, deduplicated, joined by `|`).
pub fn query_tenant(
    headers: &HeaderMap,
    auth_enabled: bool,
    multi_tenant: bool,
) -> Result<String, TenantError> {
    if !auth_enabled {
        return Ok(FAKE_TENANT.to_string());
    }
    let value = header_value(headers)?;
    let mut ids: Vec<&str> = value.split('|').collect();
    ids.sort_unstable();
    ids.dedup();
    for id in &ids {
        if id.is_empty() {
            return Err(TenantError::Missing);
        }
        validate(id)?;
    }
    if ids.len() > 1 && !multi_tenant {
        return Err(TenantError::Multiple);
    }
    Ok(ids.join("|"))
}

/// The single tenant of a push (or flush).
pub fn push_tenant(headers: &HeaderMap, auth_enabled: bool) -> Result<String, TenantError> {
    if !auth_enabled {
        return Ok(FAKE_TENANT.to_string());
    }
    let value = header_value(headers)?;
    if value.contains('|') {
        return Err(TenantError::Multiple);
    }
    validate(value)?;
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: Option<&str>) -> HeaderMap {
        let mut m = HeaderMap::new();
        if let Some(v) = v {
            m.insert(ORG_ID_HEADER, v.parse().unwrap());
        }
        m
    }

    #[test]
    fn auth_disabled_is_fake_whatever_the_header() {
        assert_eq!(push_tenant(&h(None), false).unwrap(), "fake");
        assert_eq!(push_tenant(&h(Some("team-a")), false).unwrap(), "fake");
        assert_eq!(query_tenant(&h(Some("a|b")), false, false).unwrap(), "fake");
    }

    #[test]
    fn auth_enabled_requires_a_valid_header() {
        assert_eq!(push_tenant(&h(None), true), Err(TenantError::Missing));
        assert_eq!(TenantError::Missing.to_string(), "no org id");
        assert_eq!(push_tenant(&h(Some("team-a")), true).unwrap(), "team-a");
        assert_eq!(
            push_tenant(&h(Some("a|b")), true),
            Err(TenantError::Multiple)
        );
        assert_eq!(
            push_tenant(&h(Some("a/b")), true).unwrap_err().to_string(),
            "tenant ID 'a/b' contains unsupported character '/'"
        );
        assert_eq!(
            push_tenant(&h(Some("..")), true).unwrap_err().to_string(),
            "tenant ID is '.' or '..'"
        );
        let long = "x".repeat(151);
        assert_eq!(
            push_tenant(&h(Some(&long)), true).unwrap_err().to_string(),
            "tenant ID is too long: max 150 characters"
        );
    }

    #[test]
    fn multi_tenant_queries() {
        assert_eq!(query_tenant(&h(Some("b|a|b")), true, true).unwrap(), "a|b");
        assert_eq!(
            query_tenant(&h(Some("b|a")), true, false),
            Err(TenantError::Multiple)
        );
        assert_eq!(query_tenant(&h(Some("a")), true, false).unwrap(), "a");
        assert_eq!(
            query_tenant(&h(Some("a|")), true, true),
            Err(TenantError::Missing)
        );
    }
}
