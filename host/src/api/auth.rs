//! Authentication: API keys (compared in constant time) and single-use job
//! tokens (JWT HS256 bound to one job id).
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// The API keys a deployment accepts.
#[derive(Clone)]
pub struct ApiKeys {
    keys: Vec<Vec<u8>>,
}

impl ApiKeys {
    /// Keeps the non-empty keys.
    pub fn new(keys: &[String]) -> Self {
        let keys = keys
            .iter()
            .map(|k| k.trim())
            .filter(|k| !k.is_empty())
            .map(|k| k.as_bytes().to_vec())
            .collect();
        Self { keys }
    }

    /// Whether `candidate` is one of the keys. Every key is compared, each in
    /// constant time, so timing tells nothing about which key came close.
    pub fn accepts(&self, candidate: &str) -> bool {
        let candidate = candidate.as_bytes();
        let mut found = subtle::Choice::from(0u8);
        for key in &self.keys {
            found |= key.as_slice().ct_eq(candidate);
        }
        bool::from(found)
    }

    /// An index naming the key (for rate limiting), never the key itself.
    pub fn index_of(&self, candidate: &str) -> Option<usize> {
        let candidate = candidate.as_bytes();
        self.keys
            .iter()
            .position(|k| bool::from(k.as_slice().ct_eq(candidate)))
    }

    /// Whether no key is configured.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The claims of a job token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobClaims {
    /// The job id the token is bound to.
    pub sub: String,
    /// Unique token id, burnt on first use.
    pub jti: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
}

/// Why a job token was refused; the text goes to the client as is.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// The token's lifetime is over.
    #[error("job token expired")]
    Expired,
    /// Bad signature, bad format, wrong algorithm.
    #[error("invalid job token")]
    Invalid,
    /// Signed for a different job id.
    #[error("job token does not belong to this job")]
    WrongJob,
}

/// Issues and checks job tokens.
#[derive(Clone)]
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

/// A freshly issued token.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedToken {
    /// The JWT.
    pub token: String,
    /// Its claims.
    pub claims: JobClaims,
}

impl TokenIssuer {
    /// An issuer signing with `secret`, tokens valid for `ttl`.
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl,
        }
    }

    /// Signs a token for `job_id`.
    pub fn issue(&self, job_id: &str) -> anyhow::Result<IssuedToken> {
        let now = unix_now();
        let claims = JobClaims {
            sub: job_id.to_string(),
            jti: uuid::Uuid::new_v4().to_string(),
            exp: now + self.ttl.as_secs().max(1),
            iat: now,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok(IssuedToken { token, claims })
    }

    /// Checks signature, expiry (no leeway) and the job id. Burning the jti is
    /// the caller's business (it needs the broker).
    pub fn verify(&self, token: &str, job_id: &str) -> Result<JobClaims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data =
            jsonwebtoken::decode::<JobClaims>(token, &self.decoding, &validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    _ => TokenError::Invalid,
                }
            })?;
        if data.claims.sub != job_id {
            return Err(TokenError::WrongJob);
        }
        Ok(data.claims)
    }
}

/// Seconds since the epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_exactly() {
        let keys = ApiKeys::new(&["alpha".into(), " beta ".into(), "".into()]);
        assert!(keys.accepts("alpha"));
        assert!(keys.accepts("beta"));
        assert!(!keys.accepts("alph"));
        assert!(!keys.accepts("alphaa"));
        assert!(!keys.accepts(""));
        assert_eq!(keys.index_of("beta"), Some(1));
    }

    #[test]
    fn tokens_bind_to_their_job() {
        let issuer = TokenIssuer::new(b"secret", Duration::from_secs(60));
        let t = issuer.issue("job-1").unwrap();
        assert_eq!(issuer.verify(&t.token, "job-1").unwrap().jti, t.claims.jti);
        assert_eq!(
            issuer.verify(&t.token, "job-2").unwrap_err(),
            TokenError::WrongJob
        );
        let other = TokenIssuer::new(b"other", Duration::from_secs(60));
        assert_eq!(
            other.verify(&t.token, "job-1").unwrap_err(),
            TokenError::Invalid
        );
        assert_eq!(
            issuer.verify("garbage", "job-1").unwrap_err(),
            TokenError::Invalid
        );
    }

    #[test]
    fn expired_tokens_are_refused() {
        let claims = JobClaims {
            sub: "j".into(),
            jti: "x".into(),
            exp: unix_now() - 5,
            iat: unix_now() - 10,
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"s"),
        )
        .unwrap();
        let issuer = TokenIssuer::new(b"s", Duration::from_secs(60));
        assert_eq!(issuer.verify(&token, "j").unwrap_err(), TokenError::Expired);
    }
}
