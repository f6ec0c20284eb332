//! The domain error type and the one place it becomes a `google.rpc.Status`
//! (AIP-193): a canonical code, one `ErrorInfo` with an UPPER_SNAKE reason
//! from [`kerndesk_proto::reason`], and for bad input one `BadRequest` that
//! lists every bad field.

use std::collections::HashMap;

use kerndesk_proto::{ERROR_DOMAIN, reason};
use kerndesk_store::sea_orm::DbErr;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// One bad field: its path in the request (`employees[3].email`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request: {}", describe(.0))]
    InvalidFields(Vec<FieldViolation>),
    #[error("invalid page token: {0}")]
    InvalidPageToken(String),
    #[error("{message}")]
    Unauthenticated {
        reason: &'static str,
        message: String,
    },
    #[error("{message}")]
    PermissionDenied {
        reason: &'static str,
        message: String,
    },
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{message}")]
    AlreadyExists {
        reason: &'static str,
        message: String,
    },
    #[error("{message}")]
    FailedPrecondition {
        reason: &'static str,
        message: String,
    },
    #[error("{message}")]
    Aborted {
        reason: &'static str,
        message: String,
    },
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

fn describe(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{} {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    pub fn not_found(what: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            what,
            id: id.to_string(),
        }
    }

    pub fn invalid_state(message: impl Into<String>) -> Self {
        Self::FailedPrecondition {
            reason: reason::INVALID_STATE,
            message: message.into(),
        }
    }

    pub fn permission_denied(reason: &'static str, message: impl Into<String>) -> Self {
        Self::PermissionDenied {
            reason,
            message: message.into(),
        }
    }

    pub fn stale_version(expected: i64, actual: i64) -> Self {
        Self::Aborted {
            reason: reason::VERSION_CONFLICT,
            message: format!("version {expected} is stale, the resource is at version {actual}"),
        }
    }

    /// A single bad field.
    pub fn invalid_field(field: impl Into<String>, description: impl Into<String>) -> Self {
        let mut v = Violations::default();
        v.add(field, description);
        Self::InvalidFields(v.0)
    }

    fn code_and_reason(&self) -> (Code, &'static str) {
        match self {
            Self::InvalidFields(_) => (Code::InvalidArgument, reason::INVALID_FIELDS),
            Self::InvalidPageToken(_) => (Code::InvalidArgument, reason::INVALID_PAGE_TOKEN),
            Self::Unauthenticated { reason, .. } => (Code::Unauthenticated, reason),
            Self::PermissionDenied { reason, .. } => (Code::PermissionDenied, reason),
            Self::NotFound { .. } => (Code::NotFound, reason::NOT_FOUND),
            Self::AlreadyExists { reason, .. } => (Code::AlreadyExists, reason),
            Self::FailedPrecondition { reason, .. } => (Code::FailedPrecondition, reason),
            Self::Aborted { reason, .. } => (Code::Aborted, reason),
            Self::Unavailable(_) => (Code::Unavailable, reason::STORAGE_UNAVAILABLE),
            Self::Internal(_) => (Code::Internal, reason::INTERNAL),
        }
    }
}

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        if kerndesk_store::is_unavailable(&err) {
            Self::Unavailable(err.to_string())
        } else {
            Self::Internal(err.to_string())
        }
    }
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        let (code, reason) = err.code_and_reason();
        let message = match &err {
            // Details of a bug stay in the log, not on the wire.
            Error::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                "internal error".to_owned()
            }
            Error::Unavailable(detail) => {
                tracing::warn!(error = %detail, "storage unavailable");
                "the database is unavailable; retry later".to_owned()
            }
            other => other.to_string(),
        };
        let mut details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::new());
        if let Error::InvalidFields(violations) = &err {
            for v in violations {
                details.add_bad_request_violation(v.field.clone(), v.description.clone());
            }
        }
        if let Error::InvalidPageToken(_) = &err {
            details.add_bad_request_violation("page_token", message.clone());
        }
        Status::with_error_details(code, message, details)
    }
}

/// Collects every bad field of a request before answering, so the client
/// learns all of them at once.
#[derive(Debug, Default, Clone)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// Records a violation unless `ok`.
    pub fn check(&mut self, ok: bool, field: impl Into<String>, description: impl Into<String>) {
        if !ok {
            self.add(field, description);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|v| v.field == field)
    }

    pub fn into_vec(self) -> Vec<FieldViolation> {
        self.0
    }

    /// `Ok(())` when nothing was bad, else the error naming every field.
    pub fn finish(self) -> Result<(), Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidFields(self.0))
        }
    }
}

/// Result of a handler: domain errors convert to `Status` with `?`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
