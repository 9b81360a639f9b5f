//! The status bar (connection state, the server's calls API and the keys valid now) and the
//! notice line above it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::{Level, Model};
use crate::backend::events::ConnectionState;

/// Draws the connection state and the calls API dialect, then the key hints; hints past the
/// width are cut off.
pub(super) fn draw(frame: &mut Frame, area: Rect, model: &Model) {
    let colour = match model.connection {
        ConnectionState::Connected { .. } => Color::Green,
        ConnectionState::Connecting | ConnectionState::Reconnecting { .. } => Color::Yellow,
        ConnectionState::Offline { .. } => Color::Red,
    };
    let mut spans = vec![
        Span::styled(
            format!(" {} ", model.connection_text()),
            Style::default()
                .fg(Color::Black)
                .bg(colour)
                .add_modifier(Modifier::BOLD),
        ),
        Span::raw(" "),
        Span::styled(
            format!(" {} ", model.features.name),
            Style::default().add_modifier(Modifier::REVERSED),
        ),
        Span::raw(" "),
    ];
    if model.dnd.on {
        spans.push(Span::styled(
            " DND ",
            Style::default()
                .fg(Color::White)
                .bg(Color::Magenta)
                .add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::raw(" "));
    }
    // Calls missed since History was last looked at.
    let missed = model.recent.missed().len();
    if missed > 0 {
        spans.push(Span::styled(
            format!(" {missed} missed "),
            Style::default()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::raw(" "));
    }
    for hint in model.key_hints() {
        spans.push(Span::styled(
            hint.key,
            Style::default().add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::raw(format!(" {}  ", hint.label)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The current notice: errors in red so they are not mistaken for information.
pub(super) fn draw_notice(frame: &mut Frame, area: Rect, model: &Model) {
    let Some(notice) = model.current_notice() else {
        return;
    };
    let (tag, style) = match notice.level {
        Level::Info => ("info", Style::default().fg(Color::Cyan)),
        Level::Error => (
            "error",
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        ),
    };
    let line = Line::from(vec![
        Span::styled(format!(" {tag}: "), style),
        Span::raw(notice.text.clone()),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}
