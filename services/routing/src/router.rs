//! The router: picks up NEW tickets and assigns each to the key user of its
//! application (primary, else deputy) or sends it straight to the supplier
//! with the reason. A batch is one transaction: a router that dies mid-batch
//! leaves its tickets NEW for the next one. Any number of routers may run.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use kerndesk_runtime::{AppContext, Error};
use kerndesk_store::entity::ticket;
use kerndesk_store::model::{EventKind, TicketStatus};
use kerndesk_store::wakeup::Wakeup;
use tokio::sync::watch;

use kerndesk_store::transitions;

use crate::queries::{self, Change};
use crate::rules::{self, Route, Settings};

/// Actor of the router's events: `system:router:<pid>`, so the audit trail
/// says which router process made a decision.
pub fn actor() -> String {
    format!("system:router:{}", std::process::id())
}

/// Routes until `stop` turns true.
pub async fn run(ctx: AppContext, settings: Settings, mut stop: watch::Receiver<bool>) {
    let mut wakeup = Wakeup::listen(&ctx.store, &[kerndesk_store::NEW_TICKET_CHANNEL]).subscribe();
    tracing::info!("router started");
    while !*stop.borrow() {
        match route_batch(&ctx, &settings).await {
            // A full batch: there may be more, go on at once.
            Ok(n) if n as u64 == settings.batch_size => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "routing a batch failed; retrying"),
        }
        tokio::select! {
            _ = wakeup.wait(settings.poll_interval) => {}
            _ = stop.changed() => {}
        }
    }
    tracing::info!("router stopped");
}

/// Routes one batch of NEW tickets; returns how many it routed.
pub async fn route_batch(ctx: &AppContext, settings: &Settings) -> Result<usize, Error> {
    let now = ctx.clock.now();
    let txn = ctx.store.begin_write().await?;
    let batch = queries::claim_new(&txn, settings.batch_size).await?;
    if batch.is_empty() {
        txn.commit().await?;
        return Ok(0);
    }
    let applications: BTreeSet<String> = batch.iter().map(|t| t.application.clone()).collect();
    let assignments = queries::assignments_for(&txn, applications.into_iter().collect()).await?;
    let key_users: BTreeSet<String> = assignments.iter().map(|a| a.employee.clone()).collect();
    let mut availability = queries::availability(
        &txn,
        key_users.into_iter().collect(),
        now,
        settings.sla.calendar.week_start(now),
    )
    .await?;
    let actor = actor();
    let mut routed_ids = Vec::with_capacity(batch.len());
    for t in &batch {
        let route = rules::route(
            &t.application,
            t.module.as_deref(),
            &assignments,
            &availability,
            None,
        );
        if let Route::KeyUser { employee, .. } = &route {
            *availability.open_load.entry(employee.clone()).or_default() += 1;
        }
        // The claim holds the rows (SKIP LOCKED, or SQLite's write lock); the
        // version guard is the second line of defence against a double
        // assignment.
        let change = routed(t, &route, settings, now);
        if transitions::apply_quietly(&txn, t, &actor, change, now).await? {
            routed_ids.push(t.id.to_string());
        }
    }
    // One notification for the batch, delivered on commit.
    kerndesk_store::notify(
        &txn,
        kerndesk_store::TICKET_EVENT_CHANNEL,
        &routed_ids.join(","),
    )
    .await?;
    txn.commit().await?;
    tracing::debug!(tickets = batch.len(), "routed a batch");
    Ok(batch.len())
}

/// The change that routes `t` along `route`.
pub fn routed(t: &ticket::Model, route: &Route, settings: &Settings, now: DateTime<Utc>) -> Change {
    let due = |c: Change| {
        c.set(
            ticket::Column::ResponseDueAt,
            Some(settings.response_due(&t.priority, now)),
        )
        .set(
            ticket::Column::ResolutionDueAt,
            Some(settings.resolution_due(&t.priority, now)),
        )
    };
    match route {
        Route::KeyUser { employee, reason } => {
            due(Change::to(TicketStatus::WithKeyUser, EventKind::Routed)
                .note(format!("{reason}: {employee}"))
                .set(ticket::Column::Assignee, Some(employee.clone()))
                .set(
                    ticket::Column::RoutingReason,
                    Some(reason.as_str().to_owned()),
                ))
        }
        Route::Supplier { reason } => {
            due(Change::to(TicketStatus::WithSupplier, EventKind::Routed)
                .note(reason.as_str())
                .set(ticket::Column::Assignee, Option::<String>::None)
                .set(
                    ticket::Column::RoutingReason,
                    Some(reason.as_str().to_owned()),
                )
                .set(ticket::Column::EscalatedAt, Some(now)))
        }
    }
}
