//! The domain rules of intake: what a valid new ticket is, its priority, who
//! may see and change which ticket, and which state allows what.

use kerndesk_proto::intake::v1 as pb;
use kerndesk_proto::reason;
use kerndesk_runtime::auth::{Caller, Role};
use kerndesk_runtime::{Error, Violations};
use kerndesk_store::model::{Category, Channel, Impact, Priority, TicketStatus, Urgency};

use crate::convert;

pub const TITLE_CHARS: std::ops::RangeInclusive<usize> = 3..=200;
pub const DESCRIPTION_MAX_CHARS: usize = 10_000;
pub const COMMENT_MAX_CHARS: usize = 10_000;
pub const REMARK_MAX_CHARS: usize = 2_000;
pub const REASON_MAX_CHARS: usize = 2_000;

/// A client-chosen request id (AIP-155): 1-64 of `[A-Za-z0-9._:-]`, so it can
/// be a UUID, a ULID or the portal's own key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        if text.is_empty() {
            return Err("is required");
        }
        if text.len() > 64
            || !text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
        {
            return Err("must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'");
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A free-text field: trimmed, `min..=max` characters; a violation names
/// the field otherwise. Returns the trimmed text.
pub fn text(v: &mut Violations, field: &str, value: &str, min: usize, max: usize) -> String {
    let value = value.trim().to_owned();
    let n = value.chars().count();
    v.check(
        (min..=max).contains(&n),
        field,
        if min > 0 {
            format!("is required: {min}-{max} characters, is {n}")
        } else {
            format!("must be at most {max} characters, is {n}")
        },
    );
    value
}

/// A catalogue code: lower-case, 1-40 of `[a-z0-9-]`, not starting with '-'.
pub fn is_code(text: &str) -> bool {
    kerndesk_runtime::config::is_slug(text)
}

/// An employee id as it appears in tokens and the directory.
pub fn is_employee_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b))
}

/// A ticket as filed, after every check that needs no database. The
/// catalogue and the directory are checked against the database next
/// (by the ticket writer, for its whole batch: [`super::writer`]).
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub request_id: RequestId,
    pub application: String,
    pub module: Option<String>,
    pub topic: Option<String>,
    pub title: String,
    pub description: String,
    pub category: Category,
    pub impact: Impact,
    pub urgency: Urgency,
    pub priority: Priority,
    pub channel: Channel,
    pub on_behalf_of: Option<String>,
}

impl NewTicket {
    /// Every field is checked; `violations` gets every bad one. Returns the
    /// ticket only when nothing was bad.
    pub fn parse(req: &pb::CreateTicketRequest, v: &mut Violations) -> Option<Self> {
        let request_id = RequestId::parse(&req.request_id)
            .map_err(|why| v.add("request_id", why))
            .ok();

        let application = req.application.trim();
        if application.is_empty() {
            v.add("application", "is required");
        } else if !is_code(application) {
            v.add("application", "is not a catalogue code");
        }
        let module = optional_code(&req.module, "module", v);
        let topic = optional_code(&req.topic, "topic", v);

        let title = req.title.trim();
        let title_chars = title.chars().count();
        v.check(
            TITLE_CHARS.contains(&title_chars),
            "title",
            format!(
                "must be {}-{} characters, is {title_chars}",
                TITLE_CHARS.start(),
                TITLE_CHARS.end()
            ),
        );
        let description = req.description.trim();
        let description_chars = description.chars().count();
        v.check(
            (1..=DESCRIPTION_MAX_CHARS).contains(&description_chars),
            "description",
            format!("must be 1-{DESCRIPTION_MAX_CHARS} characters, is {description_chars}"),
        );

        let category = convert::category_from_pb(req.category);
        v.check(
            category.is_some(),
            "category",
            "must be QUESTION, INCIDENT, REQUEST or WISH",
        );
        let impact = optional_enum(
            req.impact,
            convert::impact_from_pb,
            Impact::Medium,
            "impact",
            v,
        );
        let urgency = optional_enum(
            req.urgency,
            convert::urgency_from_pb,
            Urgency::Medium,
            "urgency",
            v,
        );
        let channel = optional_enum(
            req.channel,
            convert::channel_from_pb,
            Channel::Portal,
            "channel",
            v,
        );

        let on_behalf_of = match req.on_behalf_of.trim() {
            "" => None,
            id if is_employee_id(id) => Some(id.to_owned()),
            _ => {
                v.add("on_behalf_of", "is not an employee id");
                None
            }
        };

        if !v.is_empty() {
            return None;
        }
        let (impact, urgency) = (impact?, urgency?);
        Some(Self {
            request_id: request_id?,
            application: application.to_owned(),
            module,
            topic,
            title: title.to_owned(),
            description: description.to_owned(),
            category: category?,
            impact,
            urgency,
            priority: priority(impact, urgency),
            channel: channel?,
            on_behalf_of,
        })
    }
}

fn optional_code(text: &str, field: &str, v: &mut Violations) -> Option<String> {
    match text.trim() {
        "" => None,
        code if is_code(code) => Some(code.to_owned()),
        _ => {
            v.add(field, "is not a catalogue code");
            None
        }
    }
}

/// 0 (unset) takes the default; a number the enum does not have is refused.
fn optional_enum<T>(
    value: i32,
    parse: fn(i32) -> Option<T>,
    default: T,
    field: &str,
    v: &mut Violations,
) -> Option<T> {
    if value == 0 {
        return Some(default);
    }
    let parsed = parse(value);
    if parsed.is_none() {
        v.add(field, format!("{value} is not a valid {field}"));
    }
    parsed
}

/// The priority matrix (README, "Priority"):
///
/// | impact \ urgency | LOW    | MEDIUM | HIGH     |
/// |------------------|--------|--------|----------|
/// | LOW              | LOW    | LOW    | MEDIUM   |
/// | MEDIUM           | LOW    | MEDIUM | HIGH     |
/// | HIGH             | MEDIUM | HIGH   | CRITICAL |
pub fn priority(impact: Impact, urgency: Urgency) -> Priority {
    use Impact as I;
    use Urgency as U;
    match (impact, urgency) {
        (I::Low, U::Low) | (I::Low, U::Medium) | (I::Medium, U::Low) => Priority::Low,
        (I::Low, U::High) | (I::Medium, U::Medium) | (I::High, U::Low) => Priority::Medium,
        (I::Medium, U::High) | (I::High, U::Medium) => Priority::High,
        (I::High, U::High) => Priority::Critical,
    }
}

/// Who may file on behalf of a colleague: those who take questions by phone
/// or at the desk.
pub fn may_file_on_behalf(caller: &Caller) -> Result<(), Error> {
    caller
        .require_any(&[Role::KeyUser, Role::SupplierAgent, Role::Admin])
        .map_err(|_| {
            Error::permission_denied(
                reason::ROLE_NOT_ALLOWED,
                "only key users, supplier agents and admins may file on behalf of someone else",
            )
        })
}

/// Which tickets a caller may see. The union over the caller's roles:
/// everyone sees the tickets they reported or filed; a key user also those
/// assigned to them; a supplier agent also those with the supplier; an admin
/// all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visibility {
    pub subject: String,
    pub all: bool,
    pub assigned_to_me: bool,
    pub with_supplier: bool,
}

impl Visibility {
    pub fn of(caller: &Caller) -> Self {
        Self {
            subject: caller.subject.clone(),
            all: caller.has(Role::Admin),
            assigned_to_me: caller.has(Role::KeyUser),
            with_supplier: caller.has(Role::SupplierAgent),
        }
    }

    pub fn allows(&self, ticket: &kerndesk_store::entity::ticket::Model) -> bool {
        self.all
            || ticket.reporter == self.subject
            || ticket.created_by == self.subject
            || (self.assigned_to_me && ticket.assignee.as_deref() == Some(&self.subject))
            || (self.with_supplier && ticket.status == TicketStatus::WithSupplier.as_str())
    }
}

/// Parses the stored status; a row with an unknown status is a bug.
pub fn status_of(ticket: &kerndesk_store::entity::ticket::Model) -> Result<TicketStatus, Error> {
    TicketStatus::parse(&ticket.status).ok_or_else(|| {
        Error::Internal(format!(
            "ticket {} has unknown status {:?}",
            ticket.id, ticket.status
        ))
    })
}

/// The reporter (or whoever filed it) may withdraw a ticket while someone
/// still owes an answer.
pub fn check_withdraw(
    caller: &Caller,
    ticket: &kerndesk_store::entity::ticket::Model,
) -> Result<TicketStatus, Error> {
    if ticket.reporter != caller.subject && ticket.created_by != caller.subject {
        return Err(Error::permission_denied(
            reason::NOT_YOURS,
            "only the reporter or whoever filed the ticket may withdraw it",
        ));
    }
    let status = status_of(ticket)?;
    if !status.is_open() {
        return Err(Error::invalid_state(format!(
            "a {status} ticket cannot be withdrawn"
        )));
    }
    Ok(status)
}

/// Only the reporter rates, and only a resolved or closed ticket.
pub fn check_rate(
    caller: &Caller,
    ticket: &kerndesk_store::entity::ticket::Model,
) -> Result<(), Error> {
    if ticket.reporter != caller.subject {
        return Err(Error::permission_denied(
            reason::NOT_YOURS,
            "only the reporter may rate a ticket",
        ));
    }
    let status = status_of(ticket)?;
    if !matches!(status, TicketStatus::Resolved | TicketStatus::Closed) {
        return Err(Error::invalid_state(format!(
            "a {status} ticket cannot be rated yet; it must be resolved first"
        )));
    }
    Ok(())
}

/// Employee-side transitions (reply, reopen, close) are the reporter's.
pub fn check_reporter(
    caller: &Caller,
    ticket: &kerndesk_store::entity::ticket::Model,
    what: &str,
) -> Result<(), Error> {
    if ticket.reporter != caller.subject {
        return Err(Error::permission_denied(
            reason::NOT_YOURS,
            format!("only the reporter may {what} a ticket"),
        ));
    }
    Ok(())
}

pub fn require_status(
    ticket: &kerndesk_store::entity::ticket::Model,
    allowed: &[TicketStatus],
) -> Result<TicketStatus, Error> {
    let status = status_of(ticket)?;
    if !allowed.contains(&status) {
        return Err(Error::invalid_state(format!(
            "ticket {} is {status}; this needs it {}",
            ticket.id,
            allowed
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" or ")
        )));
    }
    Ok(status)
}

/// A client-supplied optimistic version (0: no check).
pub fn check_version(
    expected: i64,
    ticket: &kerndesk_store::entity::ticket::Model,
) -> Result<(), Error> {
    if expected != 0 && expected != ticket.version {
        return Err(Error::stale_version(expected, ticket.version));
    }
    Ok(())
}

/// Comments are possible until the ticket is final.
pub fn check_comment(ticket: &kerndesk_store::entity::ticket::Model) -> Result<(), Error> {
    let status = status_of(ticket)?;
    if status.is_final() {
        return Err(Error::invalid_state(format!(
            "a {status} ticket takes no more comments"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_matrix_is_symmetric_enough_and_monotonic() {
        assert_eq!(priority(Impact::Low, Urgency::Low), Priority::Low);
        assert_eq!(priority(Impact::Medium, Urgency::Medium), Priority::Medium);
        assert_eq!(priority(Impact::High, Urgency::Medium), Priority::High);
        assert_eq!(priority(Impact::Medium, Urgency::High), Priority::High);
        assert_eq!(priority(Impact::High, Urgency::High), Priority::Critical);
        assert_eq!(priority(Impact::High, Urgency::Low), Priority::Medium);
        assert_eq!(priority(Impact::Low, Urgency::High), Priority::Medium);
    }

    #[test]
    fn request_ids() {
        assert!(RequestId::parse("0b7c5a8e-6f1d-4c1e-9a51-3f2d8c3b9e10").is_ok());
        assert!(RequestId::parse("").is_err());
        assert!(RequestId::parse("has space").is_err());
        assert!(RequestId::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn every_bad_field_is_named() {
        let req = pb::CreateTicketRequest {
            request_id: String::new(),
            application: "Not A Code".into(),
            title: "x".into(),
            description: String::new(),
            category: 0,
            impact: 42,
            channel: 9,
            on_behalf_of: "bad id!".into(),
            ..Default::default()
        };
        let mut v = Violations::default();
        assert!(NewTicket::parse(&req, &mut v).is_none());
        for field in [
            "request_id",
            "application",
            "title",
            "description",
            "category",
            "impact",
            "channel",
            "on_behalf_of",
        ] {
            assert!(v.has(field), "{field} not reported: {v:?}");
        }
    }
}
