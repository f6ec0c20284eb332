//! kerndesk's wire contract: the generated protobuf and tonic code of every
//! area, the encoded descriptor set served by reflection, and the
//! `ErrorInfo` reasons every service uses.

pub mod intake {
    pub mod v1 {
        tonic::include_proto!("kerndesk.intake.v1");
    }
}

pub mod routing {
    pub mod v1 {
        tonic::include_proto!("kerndesk.routing.v1");
    }
}

/// Encoded `FileDescriptorSet` of every kerndesk .proto file, for reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/kerndesk_descriptor.bin"));

/// `google.rpc.ErrorInfo.domain` of every kerndesk error.
pub const ERROR_DOMAIN: &str = "kerndesk.nl";

/// `google.rpc.ErrorInfo.reason` values: stable, UPPER_SNAKE, part of the API.
/// Clients switch on these, not on messages.
pub mod reason {
    /// INVALID_ARGUMENT: one or more fields are bad; `BadRequest` lists each.
    pub const INVALID_FIELDS: &str = "INVALID_FIELDS";
    /// INVALID_ARGUMENT: the page token is malformed or the filters changed.
    pub const INVALID_PAGE_TOKEN: &str = "INVALID_PAGE_TOKEN";
    /// UNAUTHENTICATED: no `authorization: Bearer` metadata.
    pub const TOKEN_MISSING: &str = "TOKEN_MISSING";
    /// UNAUTHENTICATED: the token is malformed, badly signed or expired.
    pub const TOKEN_INVALID: &str = "TOKEN_INVALID";
    /// PERMISSION_DENIED: the token was issued for another tenant.
    pub const WRONG_TENANT: &str = "WRONG_TENANT";
    /// PERMISSION_DENIED: none of the caller's roles may do this.
    pub const ROLE_NOT_ALLOWED: &str = "ROLE_NOT_ALLOWED";
    /// PERMISSION_DENIED: the caller may call this, but not on that subject.
    pub const NOT_YOURS: &str = "NOT_YOURS";
    /// NOT_FOUND: no such resource, or not one the caller may see.
    pub const NOT_FOUND: &str = "NOT_FOUND";
    /// ALREADY_EXISTS: the request id was used before with another payload.
    pub const REQUEST_ID_REUSED: &str = "REQUEST_ID_REUSED";
    /// FAILED_PRECONDITION: the transition is not allowed from the current state.
    pub const INVALID_STATE: &str = "INVALID_STATE";
    /// FAILED_PRECONDITION: the caller's subject is not an active employee.
    pub const NOT_IN_DIRECTORY: &str = "NOT_IN_DIRECTORY";
    /// FAILED_PRECONDITION: the ticket was already rated.
    pub const ALREADY_RATED: &str = "ALREADY_RATED";
    /// ABORTED: the given version is stale; re-read and retry.
    pub const VERSION_CONFLICT: &str = "VERSION_CONFLICT";
    /// UNAVAILABLE: the database cannot be reached; retry with back-off.
    pub const STORAGE_UNAVAILABLE: &str = "STORAGE_UNAVAILABLE";
    /// INTERNAL: a bug; the message carries no details, the log does.
    pub const INTERNAL: &str = "INTERNAL";
}
