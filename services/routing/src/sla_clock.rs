//! The SLA clock: a ticket its key user left unaccepted past the response
//! target goes to a deputy who is present, else to the supplier; each step
//! is an event with its reason. Time comes from the context's clock, so
//! tests move it instead of sleeping.

use std::collections::BTreeSet;

use kerndesk_runtime::{AppContext, Error};
use kerndesk_store::entity::ticket;
use kerndesk_store::model::{EventKind, KeyUserRole, RoutingReason, TicketStatus};
use tokio::sync::watch;

use crate::queries::{self, Change};
use crate::rules::{self, Route, Settings};

pub const ACTOR: &str = "system:sla-clock";

pub async fn run(ctx: AppContext, settings: Settings, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        if let Err(e) = escalate_overdue(&ctx, &settings).await {
            tracing::warn!(error = %e, "SLA check failed; retrying");
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.sla_check_interval) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Moves every overdue unaccepted ticket one step; returns how many moved.
pub async fn escalate_overdue(ctx: &AppContext, settings: &Settings) -> Result<usize, Error> {
    let now = ctx.clock.now();
    let overdue = queries::overdue_unaccepted(ctx.store.connection(), now, 500).await?;
    let mut moved = 0;
    for stale in overdue {
        // One transaction per ticket; a concurrent accept (or another
        // replica's clock) wins through the version check.
        let txn = ctx.store.begin_write().await?;
        let Some(t) = queries::find(&txn, stale.id).await? else {
            continue;
        };
        if t.version != stale.version {
            continue;
        }
        let change = next_step(&txn, &t, settings, now).await?;
        match queries::apply(&txn, &t, ACTOR, change, now).await {
            Ok(_) => {
                txn.commit().await?;
                moved += 1;
            }
            Err(Error::Aborted { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(moved)
}

async fn next_step<C: sea_orm::ConnectionTrait>(
    db: &C,
    t: &ticket::Model,
    settings: &Settings,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Change, Error> {
    let assignments = queries::assignments_for(db, vec![t.application.clone()]).await?;
    let holder_is_primary = assignments.iter().any(|a| {
        Some(a.employee.as_str()) == t.assignee.as_deref()
            && a.role == KeyUserRole::Primary.as_str()
    });
    if holder_is_primary {
        let deputies: Vec<_> = assignments
            .into_iter()
            .filter(|a| a.role == KeyUserRole::Deputy.as_str())
            .collect();
        let names: BTreeSet<String> = deputies.iter().map(|a| a.employee.clone()).collect();
        let availability = queries::availability(
            db,
            names.into_iter().collect(),
            now,
            settings.sla.calendar.week_start(now),
        )
        .await?;
        if let Route::KeyUser { employee, .. } = rules::route(
            &t.application,
            t.module.as_deref(),
            &deputies,
            &availability,
            t.assignee.as_deref(),
        ) {
            return Ok(
                Change::to(TicketStatus::WithKeyUser, EventKind::SlaToDeputy)
                    .note(format!(
                        "{} did not respond in time; to deputy {employee}",
                        t.assignee.as_deref().unwrap_or("nobody")
                    ))
                    .set(ticket::Column::Assignee, Some(employee))
                    .set(
                        ticket::Column::RoutingReason,
                        Some(RoutingReason::SlaResponseMissed.as_str().to_owned()),
                    )
                    .set(
                        ticket::Column::ResponseDueAt,
                        Some(settings.response_due(&t.priority, now)),
                    ),
            );
        }
    }
    Ok(
        Change::to(TicketStatus::WithSupplier, EventKind::SlaToSupplier)
            .note(format!(
                "{} did not respond in time; to the supplier",
                t.assignee.as_deref().unwrap_or("nobody")
            ))
            .set(
                ticket::Column::RoutingReason,
                Some(RoutingReason::SlaResponseMissed.as_str().to_owned()),
            )
            .set(ticket::Column::EscalatedAt, Some(now))
            .set(
                ticket::Column::ResponseDueAt,
                Some(settings.response_due(&t.priority, now)),
            ),
    )
}
