//! Waking followers (the router, live ticket watchers) when there is work.
//!
//! On PostgreSQL a background task LISTENs on the given channels and bumps a
//! generation counter at each notification; it reconnects when the
//! connection drops. Notifications sent while it was disconnected are gone
//! for good, so followers also wake every poll interval: the notification
//! makes them fast, the poll makes them correct. On SQLite there is only the
//! poll.

use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;
use tokio::sync::watch;

use crate::Store;

/// One per process and set of channels; hand out [`Waiter`]s.
#[derive(Clone)]
pub struct Wakeup {
    generation: watch::Receiver<u64>,
}

/// One follower's view: wakes at the next notification after its last wait.
pub struct Waiter {
    generation: watch::Receiver<u64>,
}

impl Wakeup {
    /// Starts listening (PostgreSQL) on `channels`.
    pub fn listen(store: &Store, channels: &[&'static str]) -> Self {
        let (tx, rx) = watch::channel(0u64);
        if let Some(url) = store.postgres_url() {
            let channels = channels.to_vec();
            tokio::spawn(async move {
                loop {
                    if let Err(e) = listen_until_error(&url, &channels, &tx).await {
                        tracing::warn!(error = %e, "LISTEN connection lost; polling until it is back");
                    }
                    if tx.is_closed() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
        }
        Self { generation: rx }
    }

    pub fn subscribe(&self) -> Waiter {
        Waiter {
            generation: self.generation.clone(),
        }
    }
}

impl Waiter {
    /// Resolves at the next notification (or one that arrived since the last
    /// wait), or after `poll`, whichever is first.
    pub async fn wait(&mut self, poll: Duration) {
        tokio::select! {
            changed = self.generation.changed() => {
                if changed.is_err() {
                    // No listener (SQLite, or it stopped): poll only.
                    tokio::time::sleep(poll).await;
                }
            }
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

async fn listen_until_error(
    url: &str,
    channels: &[&'static str],
    generation: &watch::Sender<u64>,
) -> Result<(), sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen_all(channels.iter().copied()).await?;
    // Whatever was notified while we were not listening: look now.
    generation.send_modify(|g| *g += 1);
    loop {
        listener.recv().await?;
        generation.send_modify(|g| *g += 1);
    }
}
