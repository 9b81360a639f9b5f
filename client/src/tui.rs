//! The real terminal: entering and leaving full-screen raw mode, turning crossterm key events
//! into the core's [`KeyInput`], and the Unix signals that end the UI.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::DefaultTerminal;

use crate::app::KeyInput;

/// The terminal in raw mode on the alternate screen. Dropping it restores the terminal, so
/// every exit path (error, early return) leaves the user's shell usable; ratatui's own panic
/// hook covers panics.
pub struct TerminalGuard {
    terminal: DefaultTerminal,
}

impl TerminalGuard {
    /// Enters raw mode and the alternate screen (and installs ratatui's restoring panic hook).
    pub fn enter() -> std::io::Result<Self> {
        let terminal = ratatui::try_init()?;
        Ok(TerminalGuard { terminal })
    }

    /// The terminal to draw on.
    pub fn terminal(&mut self) -> &mut DefaultTerminal {
        &mut self.terminal
    }
}

impl std::fmt::Debug for TerminalGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalGuard").finish_non_exhaustive()
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if let Err(err) = ratatui::try_restore() {
            tracing::warn!(error = %err, "cannot restore the terminal");
        }
    }
}

/// The key the core understands, or `None` for keys it does not use (and key releases, which
/// some terminals report). In raw mode Ctrl-C is a key, not a signal.
pub fn key_input(event: KeyEvent) -> Option<KeyInput> {
    if event.kind == KeyEventKind::Release {
        return None;
    }
    if event.modifiers.contains(KeyModifiers::CONTROL) {
        return match event.code {
            KeyCode::Char('c' | 'C') => Some(KeyInput::CtrlC),
            _ => None,
        };
    }
    Some(match event.code {
        KeyCode::Char(c) => KeyInput::Char(c),
        KeyCode::Enter => KeyInput::Enter,
        KeyCode::Esc => KeyInput::Esc,
        KeyCode::Up => KeyInput::Up,
        KeyCode::Down => KeyInput::Down,
        KeyCode::PageUp => KeyInput::PageUp,
        KeyCode::PageDown => KeyInput::PageDown,
        KeyCode::Backspace => KeyInput::Backspace,
        KeyCode::Tab => KeyInput::Tab,
        KeyCode::BackTab => KeyInput::BackTab,
        _ => return None,
    })
}

/// SIGTERM and SIGHUP (the terminal closed): both end the UI cleanly, so the event queue is
/// still deleted and the terminal restored.
#[derive(Debug)]
pub struct Signals {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Starts listening (needs a Tokio runtime).
    pub fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// Resolves when either signal arrives.
    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.term.recv() => tracing::info!("SIGTERM"),
            _ = self.hup.recv() => tracing::info!("SIGHUP"),
        }
    }
}

/// The OSC 52 sequence that asks the terminal to put `text` on the system clipboard. Most
/// terminal emulators (and tmux with `set-clipboard on`) honour it, also over SSH, where no
/// clipboard library could reach the user's desktop.
pub fn osc52(text: &str) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    format!("\x1b]52;c;{encoded}\x07")
}

/// Writes [`osc52`] for `text` to the terminal.
pub fn copy_to_clipboard(text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout();
    out.write_all(osc52(text).as_bytes())?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn keys_map_to_the_core_keys() {
        let none = KeyModifiers::NONE;
        assert_eq!(
            key_input(key(KeyCode::Char('y'), none)),
            Some(KeyInput::Char('y'))
        );
        assert_eq!(
            key_input(key(KeyCode::Char('Y'), KeyModifiers::SHIFT)),
            Some(KeyInput::Char('Y'))
        );
        assert_eq!(
            key_input(key(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(KeyInput::CtrlC)
        );
        assert_eq!(
            key_input(key(KeyCode::Char('x'), KeyModifiers::CONTROL)),
            None
        );
        assert_eq!(key_input(key(KeyCode::Enter, none)), Some(KeyInput::Enter));
        assert_eq!(key_input(key(KeyCode::Esc, none)), Some(KeyInput::Esc));
        assert_eq!(key_input(key(KeyCode::Up, none)), Some(KeyInput::Up));
        assert_eq!(key_input(key(KeyCode::Down, none)), Some(KeyInput::Down));
        assert_eq!(
            key_input(key(KeyCode::PageUp, none)),
            Some(KeyInput::PageUp)
        );
        assert_eq!(
            key_input(key(KeyCode::PageDown, none)),
            Some(KeyInput::PageDown)
        );
        assert_eq!(
            key_input(key(KeyCode::Backspace, none)),
            Some(KeyInput::Backspace)
        );
        assert_eq!(key_input(key(KeyCode::Tab, none)), Some(KeyInput::Tab));
        assert_eq!(
            key_input(key(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(KeyInput::BackTab)
        );
        assert_eq!(key_input(key(KeyCode::F(1), none)), None);
        let mut release = key(KeyCode::Char('y'), none);
        release.kind = KeyEventKind::Release;
        assert_eq!(key_input(release), None);
    }

    #[test]
    fn the_clipboard_sequence_is_osc_52_with_base64() {
        assert_eq!(
            osc52("https://meet.jit.si/zulip-call-1"),
            "\x1b]52;c;aHR0cHM6Ly9tZWV0LmppdC5zaS96dWxpcC1jYWxsLTE=\x07"
        );
    }
}
