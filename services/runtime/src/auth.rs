//! Authentication and role checks.
//!
//! Every RPC carries `authorization: Bearer <JWT>` with claims `sub` (the
//! employee id), `tenant`, `roles` and `exp`. This deployment verifies HS256
//! with its secret; [`Authenticator`] is the seam where a JWKS verifier for
//! the corporation's identity provider (RS256) plugs in later.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use kerndesk_proto::reason;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::Error;
use crate::clock::Clock;

/// Roles inside one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Employee,
    KeyUser,
    SupplierAgent,
    ContractManager,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Employee,
        Role::KeyUser,
        Role::SupplierAgent,
        Role::ContractManager,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Employee => "employee",
            Role::KeyUser => "key_user",
            Role::SupplierAgent => "supplier_agent",
            Role::ContractManager => "contract_manager",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The authenticated caller of one RPC, put in the request extensions by
/// [`AuthInterceptor`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub subject: String,
    pub roles: BTreeSet<Role>,
}

impl Caller {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Refuses with PERMISSION_DENIED unless the caller has one of `roles`.
    pub fn require_any(&self, roles: &[Role]) -> Result<(), Error> {
        if roles.iter().any(|r| self.has(*r)) {
            Ok(())
        } else {
            let names: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
            Err(Error::permission_denied(
                reason::ROLE_NOT_ALLOWED,
                format!("this call needs one of the roles: {}", names.join(", ")),
            ))
        }
    }

    /// The caller from a request that went through [`AuthInterceptor`].
    pub fn of<T>(request: &Request<T>) -> Result<Caller, Error> {
        request
            .extensions()
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| Error::Internal("service mounted without AuthInterceptor".into()))
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub tenant: String,
    pub roles: Vec<String>,
    pub exp: i64,
    pub iat: i64,
}

/// Verifies tokens for one tenant, and issues them (`kerndesk token`).
pub struct Authenticator {
    tenant: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

/// Name of the generated key file in the data directory.
pub const KEY_FILE: &str = "kerndesk.jwt.key";

impl Authenticator {
    pub fn hs256(tenant: &str, secret: &[u8], clock: Arc<dyn Clock>) -> Self {
        Self {
            tenant: tenant.to_owned(),
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            clock,
        }
    }

    /// The configured secret, else the key in `data_dir` (generated with
    /// 256 random bits on first use, readable by the owner only). There is
    /// never an "auth off" mode.
    pub fn from_config(
        config: &crate::config::Config,
        clock: Arc<dyn Clock>,
    ) -> std::io::Result<Self> {
        let secret = if config.auth.jwt_secret.is_empty() {
            load_or_create_key(&config.data_dir.join(KEY_FILE))?
        } else {
            config.auth.jwt_secret.as_bytes().to_vec()
        };
        Ok(Self::hs256(&config.tenant, &secret, clock))
    }

    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// Signs a token for this tenant.
    pub fn issue(&self, subject: &str, roles: &[Role], ttl: std::time::Duration) -> String {
        let now = self.clock.now().timestamp();
        self.issue_claims(&Claims {
            sub: subject.to_owned(),
            tenant: self.tenant.clone(),
            roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
            iat: now,
            exp: now + ttl.as_secs() as i64,
        })
    }

    /// Signs arbitrary claims (tests use it for expired or foreign tokens).
    pub fn issue_claims(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing cannot fail")
    }

    /// UNAUTHENTICATED for a missing, malformed, badly signed or expired
    /// token; PERMISSION_DENIED for a valid token of another tenant.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Caller, Error> {
        let unauthenticated = |reason, message: &str| Error::Unauthenticated {
            reason,
            message: message.to_owned(),
        };
        let Some(header) = authorization else {
            return Err(unauthenticated(
                reason::TOKEN_MISSING,
                "missing `authorization: Bearer <token>` metadata",
            ));
        };
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(|| {
                unauthenticated(
                    reason::TOKEN_INVALID,
                    "authorization must be `Bearer <token>`",
                )
            })?;
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against our clock below, so tests can move time.
        validation.validate_exp = false;
        validation.required_spec_claims = ["exp", "sub"].into_iter().map(String::from).collect();
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|e| unauthenticated(reason::TOKEN_INVALID, &format!("invalid token: {e}")))?
            .claims;
        if claims.exp <= self.clock.now().timestamp() {
            return Err(unauthenticated(
                reason::TOKEN_INVALID,
                "the token has expired",
            ));
        }
        if claims.tenant != self.tenant {
            return Err(Error::permission_denied(
                reason::WRONG_TENANT,
                "the token was issued for another tenant",
            ));
        }
        if claims.sub.is_empty() || claims.sub.len() > 64 {
            return Err(unauthenticated(
                reason::TOKEN_INVALID,
                "the token's subject is invalid",
            ));
        }
        Ok(Caller {
            subject: claims.sub,
            // Unknown role names grant nothing.
            roles: claims.roles.iter().filter_map(|r| Role::parse(r)).collect(),
        })
    }
}

fn load_or_create_key(path: &Path) -> std::io::Result<Vec<u8>> {
    match std::fs::read_to_string(path) {
        Ok(text) => hex::decode(text.trim()).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: not a hex key: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut key = vec![0u8; 32];
            rand::rng().fill_bytes(&mut key);
            write_private(path, &hex::encode(&key))?;
            tracing::info!(path = %path.display(), "generated a new token signing key");
            Ok(key)
        }
        Err(e) => Err(e),
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    // create_new: two processes starting at once must not both write a key.
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(mut file) => {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// Authenticates every call of the service it wraps and hands the
/// [`Caller`] to the handler through the request extensions.
#[derive(Clone)]
pub struct AuthInterceptor(pub Arc<Authenticator>);

impl Interceptor for AuthInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        let caller = self.0.authenticate(header)?;
        tracing::Span::current().record("subject", caller.subject.as_str());
        request.extensions_mut().insert(caller);
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;

    fn auth(tenant: &str) -> Authenticator {
        Authenticator::hs256(
            tenant,
            b"0123456789abcdef0123456789abcdef",
            Arc::new(SystemClock),
        )
    }

    #[test]
    fn issued_tokens_authenticate() {
        let a = auth("woonstad");
        let t = a.issue(
            "e1",
            &[Role::Employee, Role::KeyUser],
            std::time::Duration::from_secs(60),
        );
        let c = a.authenticate(Some(&format!("Bearer {t}"))).unwrap();
        assert_eq!(c.subject, "e1");
        assert!(c.has(Role::KeyUser) && !c.has(Role::Admin));
    }

    #[test]
    fn refusals() {
        let a = auth("woonstad");
        assert!(matches!(
            a.authenticate(None),
            Err(Error::Unauthenticated { .. })
        ));
        assert!(matches!(
            a.authenticate(Some("Bearer nonsense")),
            Err(Error::Unauthenticated { .. })
        ));
        let other = auth("elders");
        let t = other.issue("e1", &[Role::Admin], std::time::Duration::from_secs(60));
        assert!(matches!(
            a.authenticate(Some(&format!("Bearer {t}"))),
            Err(Error::PermissionDenied { .. })
        ));
        let forged = Authenticator::hs256(
            "woonstad",
            b"another-secret-another-secret-xx",
            Arc::new(SystemClock),
        )
        .issue("e1", &[Role::Admin], std::time::Duration::from_secs(60));
        assert!(matches!(
            a.authenticate(Some(&format!("Bearer {forged}"))),
            Err(Error::Unauthenticated { .. })
        ));
    }

    #[test]
    fn generated_key_is_stable_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        let k1 = load_or_create_key(&path).unwrap();
        let k2 = load_or_create_key(&path).unwrap();
        assert_eq!(k1, k2);
        assert_eq!(k1.len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
