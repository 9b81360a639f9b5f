//! `PUSH_WEBHOOK_URL`: every recorded push is POSTed there as JSON (the outbox entry), so a QA
//! harness or a bridge to a real push provider sees pushes as they happen.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::model::OutboxEntry;

/// Posts each push in order; a failed POST is logged and the next push goes on.
pub async fn run(url: String, mut pushes: mpsc::UnboundedReceiver<OutboxEntry>) {
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
