//! The open event WebSockets, so the server can close them from outside their connection task
//! (the control API's `websockets/close`, a deactivated user).
//!
//! Each connection registers itself when it opens and gets a receiver of close requests; its
//! task sends the close frame itself, so the frame goes out in order after any event frame.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::watch;
use zulip_calls_protocol::{QueueId, UserId};

/// A request to close a connection: the close code and reason to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseRequest {
    pub code: u16,
    pub reason: String,
}

/// Every open event WebSocket.
#[derive(Debug, Default)]
pub struct Sockets {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    open: HashMap<u64, Connection>,
}

#[derive(Debug)]
struct Connection {
    user: UserId,
    queue_id: QueueId,
    close: watch::Sender<Option<CloseRequest>>,
}

/// A registered connection; unregisters it when dropped.
#[derive(Debug)]
pub struct Registration<'a> {
    sockets: &'a Sockets,
    id: u64,
    /// Holds `Some` once the connection was asked to close.
    pub close: watch::Receiver<Option<CloseRequest>>,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.sockets.lock().open.remove(&self.id);
    }
}

impl Sockets {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every mutation is a single map insert or removal: a poisoned lock is still whole.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a connection of `user` on `queue_id` for as long as the result lives.
    pub fn register(&self, user: UserId, queue_id: QueueId) -> Registration<'_> {
        let (close, receiver) = watch::channel(None);
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.open.insert(
            id,
            Connection {
                user,
                queue_id,
                close,
            },
        );
        Registration {
            sockets: self,
            id,
            close: receiver,
        }
    }

    /// Asks every open connection of `user` to close with `code` and `reason`; returns how
    /// many were asked (a connection asked twice keeps the first request).
    pub fn close_user(&self, user: UserId, code: u16, reason: &str) -> usize {
        let inner = self.lock();
        let mut asked = 0;
        for connection in inner.open.values().filter(|c| c.user == user) {
            connection.close.send_if_modified(|request| {
                if request.is_some() {
                    return false;
                }
                *request = Some(CloseRequest {
                    code,
                    reason: reason.to_owned(),
                });
                true
            });
            asked += 1;
        }
        asked
    }

    /// The queues with at least one open connection.
    pub fn connected_queues(&self) -> HashSet<QueueId> {
        self.lock()
            .open
            .values()
            .map(|c| c.queue_id.clone())
            .collect()
    }

    /// Number of open connections.
    pub fn len(&self) -> usize {
        self.lock().open.len()
    }

    /// No connection is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_reaches_only_the_users_open_connections() {
        let sockets = Sockets::default();
        let a1 = sockets.register(UserId(1), QueueId("1:a".into()));
        let a2 = sockets.register(UserId(1), QueueId("2:a".into()));
        let b = sockets.register(UserId(2), QueueId("3:b".into()));
        assert_eq!(sockets.len(), 3);
        assert_eq!(sockets.close_user(UserId(1), 1012, "restart"), 2);
        for registration in [&a1, &a2] {
            assert_eq!(
                *registration.close.borrow(),
                Some(CloseRequest {
                    code: 1012,
                    reason: "restart".into()
                })
            );
        }
        assert_eq!(*b.close.borrow(), None);
        drop(a1);
        assert_eq!(sockets.len(), 2);
        assert!(sockets.connected_queues().contains(&QueueId("2:a".into())));
        assert!(!sockets.connected_queues().contains(&QueueId("1:a".into())));
    }
}
