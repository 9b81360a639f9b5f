//! `PUSH_WEBHOOK_URL`: every recorded push is POSTed there as JSON (the outbox entry), so a QA
//! harness or a bridge to a real push provider sees pushes as they happen.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::core::model::OutboxEntry;
use crate::core::news::{Listener, RecordedPush, Tx};

/// The listener: hands each recorded push, once committed, to the task that posts it. Never
/// blocks: delivery happens outside the store lock.
#[derive(Debug)]
pub struct PushWebhook {
    sender: mpsc::UnboundedSender<OutboxEntry>,
}

impl PushWebhook {
    /// Starts posting to `url` (on the current Tokio runtime); the task ends when the
    /// listener is dropped.
    pub fn start(url: String) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run(url, receiver));
        PushWebhook { sender }
    }
}

impl Listener for PushWebhook {
    fn push_recorded(&self, push: &RecordedPush, tx: &mut Tx<'_>) {
        let sender = self.sender.clone();
        let entry = push.entry.clone();
        tx.after_commit(move |_| {
            if sender.send(entry).is_err() {
                tracing::warn!("push webhook sender has stopped");
            }
        });
    }
}

/// Posts each push in order; a failed POST is logged and the next push goes on.
async fn run(url: String, mut pushes: mpsc::UnboundedReceiver<OutboxEntry>) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(client) => client,
        Err(err) => {
            tracing::error!(error = %err, "push webhook disabled: cannot build an HTTP client");
            return;
        }
    };
    while let Some(entry) = pushes.recv().await {
        match client.post(&url).json(&entry).send().await {
            Ok(response) if response.status().is_success() => {
                tracing::debug!(id = entry.id, "push delivered to the webhook");
            }
            Ok(response) => {
                tracing::warn!(id = entry.id, status = %response.status(), "push webhook refused a push");
            }
            Err(err) => tracing::warn!(id = entry.id, error = %err, "push webhook unreachable"),
        }
    }
}
