//! Everything that makes noise or pops up when a call comes in: the terminal bell, the optional
//! ringtone (cargo feature `sound`) and desktop notifications.
//!
//! All of it is best effort. A machine without a desktop, a D-Bus session or a sound card still
//! rings the terminal bell, and nothing here ever fails the app: problems are logged (a warning
//! the first time, then at debug level) and the call goes on.

use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::preferences::{Preferences, Ring};

/// How often the terminal bell rings while a call rings (the ringtone loops at the same pace).
pub const RING_EVERY: Duration = Duration::from_secs(2);
/// A notification daemon that has not answered by then never will; the attempt is dropped.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);

/// The ringtone, embedded so the binary rings from any directory.
#[cfg(any(feature = "sound", test))]
const RINGTONE_WAV: &[u8] = include_bytes!("../../assets/ringtone.wav");

/// The ASCII bell.
const BEL: &[u8] = b"\x07";

/// Which alerts the user wants (the zuliprc's `ring` and `notifications`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertOptions {
    /// Pop up a desktop notification for incoming and missed calls.
    pub notifications: bool,
    /// The ringtone (only in builds with the `sound` feature) and the bell, the bell alone,
    /// or nothing.
    pub ring: Ring,
}

impl Default for AlertOptions {
    fn default() -> Self {
        Self {
            notifications: true,
            ring: Ring::Sound,
        }
    }
}

impl AlertOptions {
    /// The alerts `preferences` ask for.
    pub fn from_preferences(preferences: &Preferences) -> Self {
        Self {
            notifications: preferences.notifications,
            ring: preferences.ring,
        }
    }
}

/// Why an alert could not be given (only ever logged).
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("desktop notification failed: {0}")]
    Notification(#[from] notify_rust::error::Error),
    #[error("the notification service did not answer within {0:?}")]
    NotificationTimeout(Duration),
    #[error("the notification task failed: {0}")]
    NotificationTask(#[from] tokio::task::JoinError),
    #[cfg(feature = "sound")]
    #[error("no audio output: {0}")]
    AudioOutput(#[from] rodio::DeviceSinkError),
    #[cfg(feature = "sound")]
    #[error("cannot decode the ringtone: {0}")]
    Ringtone(#[from] rodio::decoder::DecoderError),
    #[cfg(feature = "sound")]
    #[error("cannot start the audio thread: {0}")]
    AudioThread(std::io::Error),
}

/// The alerts of one UI session: the ringer and, unless turned off, notifications.
#[derive(Debug)]
pub struct Alerts {
    options: AlertOptions,
    ringer: Ringer,
}

impl Alerts {
    /// Alerts ringing the bell on stdout (the terminal).
    pub fn new(options: AlertOptions) -> Self {
        Self {
            options,
            ringer: Ringer::new(options.ring == Ring::Sound),
        }
    }

    /// Starts ringing; a no-op while already ringing, or when the ring is off. Needs a tokio
    /// runtime.
    pub fn start_ringing(&mut self) {
        if self.options.ring == Ring::Off {
            tracing::debug!("the ring is off");
            return;
        }
        self.ringer.start();
    }

    /// Stops ringing at once.
    pub fn stop_ringing(&mut self) {
        self.ringer.stop();
    }

    /// Shows a desktop notification in the background unless notifications are off.
    pub fn notify(&self, title: &str, body: &str) {
        if self.options.notifications {
            // The outcome is already logged; nobody waits for it.
            drop(notify(title, body));
        } else {
            tracing::debug!(%title, "desktop notifications are off");
        }
    }
}

/// Where the bell goes: the terminal in the app, anything else in tests.
type SharedBell = Arc<Mutex<Box<dyn Write + Send>>>;

/// Rings while a call rings: the terminal bell every [`RING_EVERY`] and, with the `sound`
/// feature, the looping ringtone. Stopping (or dropping) silences both at once.
pub struct Ringer {
    bell: SharedBell,
    sound: bool,
    /// Present from `start` until `stop`, even if the bell gave up (the terminal went away).
    bell_task: Option<JoinHandle<()>>,
    #[cfg(feature = "sound")]
    ringtone: Option<ringtone::Playing>,
}

impl std::fmt::Debug for Ringer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ringer")
            .field("sound", &self.sound)
            .field("ringing", &self.is_ringing())
            .finish_non_exhaustive()
    }
}

impl Ringer {
    /// A ringer writing the bell to stdout; `sound` asks for the ringtone too.
    pub fn new(sound: bool) -> Self {
        Self::with_bell(sound, std::io::stdout())
    }

    /// A ringer writing the bell to `bell` (tests listen there instead of the terminal).
    pub fn with_bell(sound: bool, bell: impl Write + Send + 'static) -> Self {
        Self {
            bell: Arc::new(Mutex::new(Box::new(bell))),
            sound,
            bell_task: None,
            #[cfg(feature = "sound")]
            ringtone: None,
        }
    }

    /// Whether the ringer is on (between [`Ringer::start`] and [`Ringer::stop`]).
    pub fn is_ringing(&self) -> bool {
        self.bell_task.is_some()
    }

    /// Starts ringing: the bell at once and then every [`RING_EVERY`]. Starting while
    /// ringing does nothing, so a repeated `StartRinging` never doubles the noise. Needs a
    /// tokio runtime.
    pub fn start(&mut self) {
        if self.is_ringing() {
            return;
        }
        self.bell_task = Some(tokio::spawn(ring_bell(Arc::clone(&self.bell))));
        #[cfg(feature = "sound")]
        if self.sound {
            self.ringtone = ringtone::play();
        }
    }

    /// Stops ringing at once: the bell task is aborted and the ringtone's player stopped.
    pub fn stop(&mut self) {
        if let Some(task) = self.bell_task.take() {
            task.abort();
        }
        #[cfg(feature = "sound")]
        drop(self.ringtone.take());
    }
}

impl Drop for Ringer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Rings `bell` every [`RING_EVERY`] until aborted or the bell cannot be written.
async fn ring_bell(bell: SharedBell) {
    let mut every = tokio::time::interval(RING_EVERY);
    // After a stall, one bell is enough: never a burst of them.
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let written = {
            let mut out = bell.lock().unwrap_or_else(PoisonError::into_inner);
            out.write_all(BEL).and_then(|()| out.flush())
        };
        if let Err(err) = written {
            tracing::debug!(error = %err, "the terminal bell stopped");
            return;
        }
    }
}

/// Set once the first notification failure was logged as a warning.
static NOTIFY_WARNED: AtomicBool = AtomicBool::new(false);

/// Shows a desktop notification in a background task, so a slow or missing D-Bus never
/// blocks the keyboard. The task yields `true` when the notification was shown; failures are
/// only logged. Needs a tokio runtime.
pub fn notify(title: &str, body: &str) -> JoinHandle<bool> {
    deliver(show_desktop(title.to_owned(), body.to_owned()))
}

/// Runs one notification attempt as its own task, bounded by [`NOTIFY_TIMEOUT`], and logs
/// its failure.
fn deliver<F>(attempt: F) -> JoinHandle<bool>
where
    F: Future<Output = Result<(), AlertError>> + Send + 'static,
{
    tokio::spawn(async move {
        let outcome = tokio::time::timeout(NOTIFY_TIMEOUT, attempt)
            .await
            .unwrap_or(Err(AlertError::NotificationTimeout(NOTIFY_TIMEOUT)));
        match outcome {
            Ok(()) => true,
            Err(err) => {
                log_failure(&NOTIFY_WARNED, "desktop notifications", &err);
                false
            }
        }
    })
}

/// Logs an alert failure: a warning the first time (per kind), then at debug level, so a
/// machine without a desktop or sound card does not fill the log with the same warning.
fn log_failure(warned: &AtomicBool, what: &str, err: &AlertError) {
    if warned.swap(true, Ordering::Relaxed) {
        tracing::debug!(error = %err, "{what} failed again");
    } else {
        tracing::warn!(error = %err, "{what} unavailable; the terminal bell still rings");
    }
}

/// The notification as every platform shows it.
fn desktop_notification(title: &str, body: &str) -> notify_rust::Notification {
    let mut notification = notify_rust::Notification::new();
    notification
        .appname("zulip-calls")
        .summary(title)
        .body(body)
        .icon("call-start");
    notification
}

/// Linux and the BSDs: over D-Bus on the app's own runtime (zbus, pure Rust).
#[cfg(all(unix, not(target_os = "macos")))]
async fn show_desktop(title: String, body: String) -> Result<(), AlertError> {
    desktop_notification(&title, &body).show_async().await?;
    Ok(())
}

/// macOS and Windows: their notification APIs block, so they run on the blocking pool.
#[cfg(not(all(unix, not(target_os = "macos"))))]
async fn show_desktop(title: String, body: String) -> Result<(), AlertError> {
    tokio::task::spawn_blocking(move || desktop_notification(&title, &body).show().map(drop))
        .await??;
    Ok(())
}

/// The ringtone, played on a thread of its own (audio devices can be slow to open and their
/// handles are not `Send` everywhere).
#[cfg(feature = "sound")]
mod ringtone {
    use std::io::Cursor;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc;

    use super::{AlertError, RINGTONE_WAV, log_failure};

    /// Set after audio failed once: later calls skip the ringtone (and the log stays quiet).
    static UNAVAILABLE: AtomicBool = AtomicBool::new(false);
    static WARNED: AtomicBool = AtomicBool::new(false);

    /// The ringtone playing; dropping it stops the sound at once.
    #[derive(Debug)]
    pub(super) struct Playing {
        /// Dropped to wake the audio thread, which then stops the player.
        _stop: mpsc::Sender<()>,
    }

    /// Starts looping the ringtone; `None` when audio is known not to work here.
    pub(super) fn play() -> Option<Playing> {
        if UNAVAILABLE.load(Ordering::Relaxed) {
            return None;
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let spawned =
            std::thread::Builder::new()
                .name("ringtone".into())
                .spawn(move || match open() {
                    Ok((sink, player)) => {
                        // Returns when `Playing` is dropped (nothing is ever sent).
                        let _ = stopped.recv();
                        player.stop();
                        drop(player);
                        drop(sink);
                    }
                    Err(err) => {
                        UNAVAILABLE.store(true, Ordering::Relaxed);
                        log_failure(&WARNED, "the ringtone", &err);
                    }
                });
        match spawned {
            Ok(_) => Some(Playing { _stop: stop }),
            Err(err) => {
                log_failure(&WARNED, "the ringtone", &AlertError::AudioThread(err));
                None
            }
        }
    }

    /// Opens the default output and starts the looping ringtone on it.
    fn open() -> Result<(rodio::MixerDeviceSink, rodio::Player), AlertError> {
        let mut sink = rodio::DeviceSinkBuilder::open_default_sink()?;
        // Closing the output is expected here, not news for stderr (the terminal UI owns it).
        sink.log_on_drop(false);
        let player = rodio::Player::connect_new(sink.mixer());
        player.append(rodio::Decoder::new_looped(Cursor::new(RINGTONE_WAV))?);
        Ok((sink, player))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    /// A bell that reports every write on a channel instead of beeping.
    struct ChannelBell(mpsc::UnboundedSender<Vec<u8>>);

    impl Write for ChannelBell {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .send(buf.to_vec())
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn listening_ringer() -> (Ringer, mpsc::UnboundedReceiver<Vec<u8>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Ringer::with_bell(false, ChannelBell(tx)), rx)
    }

    /// Lets the runtime run everything that is ready (a few scheduler turns, no time passes).
    async fn settle() {
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn rings_the_bell_at_once_then_every_ring_every() {
        let (mut ringer, mut bells) = listening_ringer();
        let started = tokio::time::Instant::now();
        ringer.start();
        assert!(ringer.is_ringing());
        for n in 0..4u32 {
            // Paused time jumps straight to the next bell once everything else waits.
            assert_eq!(bells.recv().await.as_deref(), Some(BEL));
            assert_eq!(started.elapsed(), RING_EVERY * n);
        }
        ringer.stop();
    }

    #[tokio::test(start_paused = true)]
    async fn stop_ends_the_bell_task_and_the_bells() {
        let (mut ringer, mut bells) = listening_ringer();
        ringer.start();
        assert_eq!(bells.recv().await.as_deref(), Some(BEL));
        let task = ringer.bell_task.as_ref().unwrap().abort_handle();

        ringer.stop();
        assert!(!ringer.is_ringing());
        settle().await;
        assert!(task.is_finished(), "the bell task still runs after stop");
        tokio::time::advance(RING_EVERY * 10).await;
        settle().await;
        assert!(bells.try_recv().is_err(), "a bell rang after stop");
    }

    #[tokio::test(start_paused = true)]
    async fn starting_twice_keeps_one_bell() {
        let (mut ringer, mut bells) = listening_ringer();
        ringer.start();
        let first = ringer.bell_task.as_ref().map(JoinHandle::id);
        ringer.start();
        assert_eq!(ringer.bell_task.as_ref().map(JoinHandle::id), first);

        settle().await;
        for _ in 0..3 {
            tokio::time::advance(RING_EVERY).await;
            settle().await;
        }
        let mut rung = 0;
        while bells.try_recv().is_ok() {
            rung += 1;
        }
        assert_eq!(rung, 4, "one bell at start, then one every {RING_EVERY:?}");
        ringer.stop();
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_bell_catches_up_with_one_bell_not_a_burst() {
        let (mut ringer, mut bells) = listening_ringer();
        ringer.start();
        assert_eq!(bells.recv().await.as_deref(), Some(BEL));
        // The task cannot run while the clock jumps three periods at once.
        tokio::time::advance(RING_EVERY * 3).await;
        settle().await;
        assert_eq!(bells.try_recv().ok().as_deref(), Some(BEL));
        assert!(bells.try_recv().is_err(), "a burst of bells after a stall");
        ringer.stop();
    }

    #[tokio::test(start_paused = true)]
    async fn stop_is_idempotent_and_the_ringer_starts_again() {
        let (mut ringer, mut bells) = listening_ringer();
        ringer.stop();
        ringer.start();
        assert_eq!(bells.recv().await.as_deref(), Some(BEL));
        ringer.stop();
        ringer.stop();
        assert!(!ringer.is_ringing());
        ringer.start();
        assert_eq!(bells.recv().await.as_deref(), Some(BEL));
        drop(ringer);
        settle().await;
        tokio::time::advance(RING_EVERY * 3).await;
        settle().await;
        // Dropping the ringer stopped the task, which held the only other bell handle.
        assert!(bells.recv().await.is_none(), "the bell outlived the ringer");
    }

    #[tokio::test(start_paused = true)]
    async fn a_broken_bell_ends_the_task_but_not_the_ringing_state() {
        let (mut ringer, bells) = listening_ringer();
        drop(bells);
        ringer.start();
        let task = ringer.bell_task.as_ref().map(JoinHandle::abort_handle);
        settle().await;
        assert!(task.is_some_and(|task| task.is_finished()));
        assert!(ringer.is_ringing(), "only stop() ends ringing");
        ringer.stop();
    }

    #[tokio::test(start_paused = true)]
    async fn notification_failure_is_swallowed() {
        let failing = async { Err(notify_rust::error::Error::from("no session bus").into()) };
        assert!(matches!(deliver(failing).await, Ok(false)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_notification_service_that_never_answers_is_given_up() {
        let started = tokio::time::Instant::now();
        assert!(matches!(deliver(std::future::pending()).await, Ok(false)));
        assert_eq!(started.elapsed(), NOTIFY_TIMEOUT);
    }

    #[tokio::test]
    async fn a_shown_notification_reports_success() {
        assert!(matches!(deliver(async { Ok(()) }).await, Ok(true)));
    }

    #[tokio::test]
    async fn a_ring_that_is_off_never_starts_the_ringer() {
        let mut off = Alerts::new(AlertOptions {
            notifications: false,
            ring: Ring::Off,
        });
        off.start_ringing();
        assert!(!off.ringer.is_ringing());
        let mut bell = Alerts {
            options: AlertOptions {
                notifications: false,
                ring: Ring::Bell,
            },
            ringer: Ringer::with_bell(false, std::io::sink()),
        };
        bell.start_ringing();
        assert!(bell.ringer.is_ringing());
        bell.stop_ringing();
        assert!(!bell.ringer.is_ringing());
    }

    #[test]
    fn notifications_and_sound_are_on_by_default() {
        assert_eq!(
            AlertOptions::default(),
            AlertOptions {
                notifications: true,
                ring: Ring::Sound
            }
        );
    }

    /// The fields of a WAV file's `fmt ` chunk and where its `data` chunk lies.
    #[derive(Debug, PartialEq, Eq)]
    struct WavInfo {
        format: u16,
        channels: u16,
        sample_rate: u32,
        bits: u16,
        data: std::ops::Range<usize>,
    }

    fn u16_at(bytes: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([bytes[at], bytes[at + 1]])
    }

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
    }

    /// Walks the RIFF chunks; panics on anything malformed.
    fn parse_wav(bytes: &[u8]) -> WavInfo {
        assert_eq!(&bytes[0..4], b"RIFF");
        assert_eq!(u32_at(bytes, 4) as usize, bytes.len() - 8, "RIFF size");
        assert_eq!(&bytes[8..12], b"WAVE");
        let (mut fmt, mut data) = (None, None);
        let mut at = 12;
        while at + 8 <= bytes.len() {
            let id = &bytes[at..at + 4];
            let len = u32_at(bytes, at + 4) as usize;
            let body = at + 8;
            assert!(body + len <= bytes.len(), "chunk {id:?} overruns the file");
            match id {
                b"fmt " => {
                    fmt = Some((
                        u16_at(bytes, body),
                        u16_at(bytes, body + 2),
                        u32_at(bytes, body + 4),
                        u16_at(bytes, body + 14),
                    ))
                }
                b"data" => data = Some(body..body + len),
                _ => {}
            }
            at = body + len + len % 2;
        }
        let (format, channels, sample_rate, bits) = fmt.expect("no fmt chunk");
        WavInfo {
            format,
            channels,
            sample_rate,
            bits,
            data: data.expect("no data chunk"),
        }
    }

    #[test]
    fn the_embedded_ringtone_is_a_short_mono_16_bit_wav() {
        let info = parse_wav(RINGTONE_WAV);
        assert_eq!(
            info,
            WavInfo {
                format: 1,
                channels: 1,
                sample_rate: 16_000,
                bits: 16,
                data: info.data.clone(),
            }
        );
        assert!(
            RINGTONE_WAV.len() < 100 * 1024,
            "the ringtone is embedded: keep it small"
        );
        // One loop lasts as long as the bell's period, so both ring in step.
        let seconds = info.data.len() as f64 / f64::from(info.sample_rate * 2);
        assert!(
            (seconds - RING_EVERY.as_secs_f64()).abs() < 0.01,
            "{seconds} s"
        );
        // Not silence: the bursts are there and loud enough to hear.
        let peak = RINGTONE_WAV[info.data]
            .chunks_exact(2)
            .map(|s| i16::from_le_bytes([s[0], s[1]]).unsigned_abs())
            .max();
        assert!(peak.is_some_and(|p| p > 8_000), "peak {peak:?}");
    }

    #[cfg(feature = "sound")]
    #[test]
    fn rodio_decodes_the_embedded_ringtone() {
        use rodio::Source as _;
        let decoder = rodio::Decoder::new(std::io::Cursor::new(RINGTONE_WAV)).unwrap();
        assert_eq!(decoder.channels().get(), 1);
        assert_eq!(decoder.sample_rate().get(), 16_000);
        assert_eq!(decoder.count(), 32_000);
    }
}
