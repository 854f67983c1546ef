//! Bearer tokens and roles: who is calling, and what each role may do.
//!
//! Tokens are configured as the hex SHA-256 of their value, never in clear; a request's token is
//! hashed and looked up. Roles:
//!
//! | role | may |
//! |---|---|
//! | `service` | read profiles (phones in clear: call centres and CRMs need them), push events |
//! | `analyst` | run SQL and read segments; phones are masked and resident id numbers hidden |
//! | `admin` | everything, plus admin actions (`POST /v1/admin/refresh`) |
//!
//! With no token configured the service runs in *open mode*: every caller is `anonymous` with
//! the admin role, and the service refuses to listen on anything but a loopback address.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::TokenSpec;
use crate::error::{ApiError, ServerError};

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Service,
    Analyst,
    Admin,
}

impl Role {
    /// The role's name as configured.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Service => "service",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }
}

/// A capability a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    Profiles,
    Sql,
    Segments,
    /// Pushing events (`POST /v1/ingest/{connector}`).
    Ingest,
    Admin,
}

impl Capability {
    fn as_str(self) -> &'static str {
        match self {
            Capability::Profiles => "profiles",
            Capability::Sql => "sql",
            Capability::Segments => "segments",
            Capability::Ingest => "ingestion",
            Capability::Admin => "admin actions",
        }
    }
}

/// One configured token: a name for the audit log, a role, and the SHA-256 of the token.
#[derive(Debug, Clone)]
pub struct TokenEntry {
    pub name: String,
    pub role: Role,
    pub sha256: [u8; 32],
}

impl TokenEntry {
    /// Validates a configured token.
    pub fn from_spec(spec: &TokenSpec) -> Result<Self, ServerError> {
        let bad = |reason: String| ServerError::Config {
            origin: format!("token {:?}", spec.name),
            reason,
        };
        if spec.name.trim().is_empty() {
            return Err(bad("the token name is empty".into()));
        }
        let bytes = hex::decode(spec.sha256.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| {
                bad("sha256 must be 64 hex digits (printf %s TOKEN | sha256sum)".into())
            })?;
        Ok(Self {
            name: spec.name.clone(),
            role: spec.role,
            sha256: bytes,
        })
    }

    /// An entry for the clear `token` (tests and embedders; config files hold hashes).
    pub fn from_clear(name: &str, role: Role, token: &str) -> Self {
        Self {
            name: name.to_string(),
            role,
            sha256: Sha256::digest(token.as_bytes()).into(),
        }
    }
}

/// Hex SHA-256 of `text`.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Principal {
    pub name: Arc<str>,
    pub role: Role,
}

impl Principal {
    /// `403` unless the role has `cap`.
    pub fn require(&self, cap: Capability) -> Result<(), ApiError> {
        let ok = matches!(
            (self.role, cap),
            (Role::Admin, _)
                | (Role::Service, Capability::Profiles | Capability::Ingest)
                | (Role::Analyst, Capability::Sql | Capability::Segments)
        );
        if ok {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("role {} may not use {}", self.role.as_str(), cap.as_str()),
            ))
        }
    }
}

/// The configured tokens, by hash.
#[derive(Debug, Clone)]
pub struct TokenStore {
    by_hash: HashMap<[u8; 32], Principal>,
}

impl TokenStore {
    /// A store over `entries`; empty means open mode.
    pub fn new(entries: &[TokenEntry]) -> Self {
        let by_hash = entries
            .iter()
            .map(|e| {
                (
                    e.sha256,
                    Principal {
                        name: Arc::from(e.name.as_str()),
                        role: e.role,
                    },
                )
            })
            .collect();
        Self { by_hash }
    }

    /// Whether no token is configured.
    pub fn is_open(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// The caller of a request with `headers`: `401` without a valid bearer token (in open
    /// mode, `anonymous` admin).
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, ApiError> {
        if self.is_open() {
            return Ok(Principal {
                name: Arc::from("anonymous"),
                role: Role::Admin,
            });
        }
        let unauthorized =
            |msg: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", msg.to_string());
        let value = headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("missing Authorization: Bearer <token> header"))?;
        let value = value
            .to_str()
            .map_err(|_| unauthorized("the Authorization header is not text"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthorized("the Authorization header is not a Bearer token"))?;
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.by_hash
            .get(&hash)
            .cloned()
            .ok_or_else(|| unauthorized("unknown token"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_matched_by_hash_and_roles_limit_capabilities() {
        let store = TokenStore::new(&[
            TokenEntry::from_clear("crm", Role::Service, "t-service"),
            TokenEntry::from_clear("bi", Role::Analyst, "t-analyst"),
        ]);
        let mut h = HeaderMap::new();
        assert_eq!(store.authenticate(&h).unwrap_err().status, 401);
        h.insert(header::AUTHORIZATION, "Bearer nope".parse().unwrap());
        assert_eq!(store.authenticate(&h).unwrap_err().status, 401);
        h.insert(header::AUTHORIZATION, "Bearer t-service".parse().unwrap());
        let p = store.authenticate(&h).unwrap();
        assert_eq!(&*p.name, "crm");
        assert!(p.require(Capability::Profiles).is_ok());
        assert_eq!(p.require(Capability::Sql).unwrap_err().status, 403);
        h.insert(header::AUTHORIZATION, "Bearer t-analyst".parse().unwrap());
        let p = store.authenticate(&h).unwrap();
        assert!(p.require(Capability::Sql).is_ok());
        assert!(p.require(Capability::Profiles).is_err());
        assert!(p.require(Capability::Admin).is_err());
        let open = TokenStore::new(&[]);
        assert_eq!(
            open.authenticate(&HeaderMap::new()).unwrap().role,
            Role::Admin
        );
    }
}
