//! The domain rules of routing: who gets a new ticket, who may act on it,
//! and the SLA targets.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use kerndesk_proto::reason;
use kerndesk_runtime::Error;
use kerndesk_runtime::auth::{Caller, Role};
use kerndesk_runtime::config::Config;
use kerndesk_store::entity::{key_user_assignment as assignment, ticket};
use kerndesk_store::model::{KeyUserRole, RoutingReason, TicketStatus};

use kerndesk_runtime::calendar::Sla;

/// Routing settings from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub sla: Sla,
    pub batch_size: u64,
    pub poll_interval: std::time::Duration,
    pub sla_check_interval: std::time::Duration,
}

impl Settings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            sla: Sla::from_config(config),
            batch_size: config.routing.batch_size,
            poll_interval: std::time::Duration::from_millis(config.routing.poll_interval_ms),
            sla_check_interval: std::time::Duration::from_secs(
                config.routing.sla_check_interval_secs,
            ),
        }
    }

    pub fn response_due(&self, priority: &str, from: DateTime<Utc>) -> DateTime<Utc> {
        self.sla.response_due(priority, from)
    }

    pub fn resolution_due(&self, priority: &str, from: DateTime<Utc>) -> DateTime<Utc> {
        self.sla.resolution_due(priority, from)
    }
}

/// What the router knows about the key users of the applications in a batch.
#[derive(Debug, Default)]
pub struct Availability {
    /// Key users absent now.
    pub absent: HashSet<String>,
    /// Minutes logged this week, per key user.
    pub minutes_this_week: HashMap<String, i64>,
    /// Open tickets assigned, per key user: the least loaded gets the next.
    pub open_load: HashMap<String, i64>,
}

impl Availability {
    fn available(&self, a: &assignment::Model) -> bool {
        let over_budget = a.hours_per_week > 0
            && self
                .minutes_this_week
                .get(&a.employee)
                .copied()
                .unwrap_or(0)
                >= i64::from(a.hours_per_week) * 60;
        !self.absent.contains(&a.employee) && !over_budget
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    KeyUser {
        employee: String,
        reason: RoutingReason,
    },
    Supplier {
        reason: RoutingReason,
    },
}

/// Application (+ module) -> its primary key user who is present and within
/// budget; else a deputy; else the supplier with the reason. Module-specific
/// key users come before those of the whole application; among equals the
/// least loaded, then the lowest id (deterministic).
pub fn route(
    application: &str,
    module: Option<&str>,
    assignments: &[assignment::Model],
    availability: &Availability,
    exclude: Option<&str>,
) -> Route {
    let relevant: Vec<&assignment::Model> = assignments
        .iter()
        .filter(|a| {
            a.application == application
                && (a.module.is_empty() || Some(a.module.as_str()) == module)
                && Some(a.employee.as_str()) != exclude
        })
        .collect();
    if relevant.is_empty() {
        return Route::Supplier {
            reason: RoutingReason::NoKeyUser,
        };
    }
    for (role, reason) in [
        (KeyUserRole::Primary, RoutingReason::PrimaryKeyUser),
        (KeyUserRole::Deputy, RoutingReason::DeputyKeyUser),
    ] {
        let best = relevant
            .iter()
            .filter(|a| a.role == role.as_str() && availability.available(a))
            .min_by_key(|a| {
                (
                    a.module.is_empty(),
                    availability
                        .open_load
                        .get(&a.employee)
                        .copied()
                        .unwrap_or(0),
                    a.employee.clone(),
                )
            });
        if let Some(a) = best {
            return Route::KeyUser {
                employee: a.employee.clone(),
                reason,
            };
        }
    }
    Route::Supplier {
        reason: RoutingReason::AllAbsent,
    }
}

/// The status of a ticket row; unknown text is a bug.
pub fn status_of(t: &ticket::Model) -> Result<TicketStatus, Error> {
    TicketStatus::parse(&t.status)
        .ok_or_else(|| Error::Internal(format!("ticket {} has status {:?}", t.id, t.status)))
}

/// Key-user desk calls: the caller is a key user of the ticket's application
/// and the ticket is with them.
pub fn check_key_user_holds(
    caller: &Caller,
    t: &ticket::Model,
    assignments_of_caller: &[assignment::Model],
    allowed: &[TicketStatus],
) -> Result<TicketStatus, Error> {
    caller.require_any(&[Role::KeyUser])?;
    if !assignments_of_caller
        .iter()
        .any(|a| a.application == t.application)
    {
        return Err(Error::permission_denied(
            reason::NOT_YOURS,
            format!("you are not a key user of {}", t.application),
        ));
    }
    let status = status_of(t)?;
    if !allowed.contains(&status) {
        return Err(Error::invalid_state(format!(
            "ticket {} is {status}; this needs it {}",
            t.id,
            allowed
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" or ")
        )));
    }
    if t.assignee.as_deref() != Some(caller.subject.as_str()) {
        return Err(Error::invalid_state(format!(
            "ticket {} is assigned to {}; ask them to reassign it",
            t.id,
            t.assignee.as_deref().unwrap_or("nobody")
        )));
    }
    Ok(status)
}

/// Checks a client-supplied optimistic version (0: no check).
pub fn check_version(expected: i64, t: &ticket::Model) -> Result<(), Error> {
    if expected != 0 && expected != t.version {
        return Err(Error::stale_version(expected, t.version));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(employee: &str, module: &str, role: KeyUserRole, hours: i32) -> assignment::Model {
        assignment::Model {
            id: 0,
            employee: employee.into(),
            application: "erp".into(),
            module: module.into(),
            role: role.as_str().into(),
            hours_per_week: hours,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn primary_then_deputy_then_supplier() {
        let register = vec![
            a("prim", "", KeyUserRole::Primary, 4),
            a("dep", "", KeyUserRole::Deputy, 2),
        ];
        let mut avail = Availability::default();
        assert_eq!(
            route("erp", None, &register, &avail, None),
            Route::KeyUser {
                employee: "prim".into(),
                reason: RoutingReason::PrimaryKeyUser
            }
        );
        avail.absent.insert("prim".into());
        assert_eq!(
            route("erp", None, &register, &avail, None),
            Route::KeyUser {
                employee: "dep".into(),
                reason: RoutingReason::DeputyKeyUser
            }
        );
        avail.minutes_this_week.insert("dep".into(), 120);
        assert_eq!(
            route("erp", None, &register, &avail, None),
            Route::Supplier {
                reason: RoutingReason::AllAbsent
            },
            "the deputy used up the 2 hours agreed"
        );
        assert_eq!(
            route("teams", None, &register, &avail, None),
            Route::Supplier {
                reason: RoutingReason::NoKeyUser
            }
        );
    }

    #[test]
    fn module_key_users_first_then_least_loaded() {
        let register = vec![
            a("whole-1", "", KeyUserRole::Primary, 0),
            a("whole-2", "", KeyUserRole::Primary, 0),
            a("huur", "huur", KeyUserRole::Primary, 0),
        ];
        let mut avail = Availability::default();
        assert_eq!(
            route("erp", Some("huur"), &register, &avail, None),
            Route::KeyUser {
                employee: "huur".into(),
                reason: RoutingReason::PrimaryKeyUser
            }
        );
        avail.open_load.insert("whole-1".into(), 3);
        assert_eq!(
            route("erp", Some("onderhoud"), &register, &avail, None),
            Route::KeyUser {
                employee: "whole-2".into(),
                reason: RoutingReason::PrimaryKeyUser
            }
        );
    }
}
