//! The `?` overlay: every key binding, whatever the current state.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::{centered, modal_block};

/// A section title and its `(key, what it does)` rows.
type Section = (&'static str, &'static [(&'static str, &'static str)]);

/// All bindings by section, in two columns; the status bar shows only those valid now, this
/// shows them all.
const COLUMNS: [&[Section]; 2] = [
    &[
        (
            "Anywhere",
            &[
                ("Tab", "next view"),
                ("Up/Down", "move selection"),
                ("PgUp/PgDn", "move a page"),
                ("r", "refresh view"),
                ("l", "toggle event log"),
                ("d", "do not disturb on/off"),
                ("?", "toggle help"),
                ("q", "quit (asks in a call)"),
                ("Ctrl-C", "quit now"),
            ],
        ),
        (
            "Teammates",
            &[
                ("/", "new filter (Enter/Esc)"),
                ("v", "video call selected"),
                ("a", "audio call selected"),
                ("Space", "mark; v/a: group call"),
            ],
        ),
    ],
    &[
        (
            "Calls",
            &[
                ("y/Enter", "accept/join incoming"),
                ("n", "reject/decline incoming"),
                ("Esc/e", "cancel outgoing"),
                ("m c h s", "mute/camera/hold/share"),
                ("e", "end call (group: leave)"),
                ("E", "end group call for all"),
                ("i", "invite to group call"),
                ("j", "rejoin a group call"),
                ("o", "open meeting"),
                ("u", "show and copy join URL"),
                ("Esc", "dismiss summary"),
            ],
        ),
        (
            "History / Active",
            &[
                ("Enter/v/a", "call back (History)"),
                ("t", "cycle type filter"),
                ("f", "cycle state filter"),
                ("PgUp/PgDn", "newer/older page"),
                ("x", "end all active calls"),
            ],
        ),
    ],
];

/// Width of the key column.
const KEY_WIDTH: usize = 10;

/// Width of one column inside the modal.
const COLUMN_WIDTH: u16 = 37;

/// Draws the help overlay centred on `area`: two columns when they fit, one otherwise (cut at
/// the bottom on very small terminals).
pub(super) fn draw(frame: &mut Frame, area: Rect) {
    let columns: Vec<Vec<Line>> = COLUMNS.iter().map(|sections| column(sections)).collect();
    let two = area.width >= COLUMN_WIDTH * 2 + 2;
    let rows = if two {
        columns.iter().map(Vec::len).max().unwrap_or(0)
    } else {
        columns.iter().map(Vec::len).sum::<usize>() + 1
    };
    let height = u16::try_from(rows + 2).unwrap_or(u16::MAX);
    let width = if two {
        COLUMN_WIDTH * 2 + 2
    } else {
        COLUMN_WIDTH + 2
    };
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    let block = modal_block("Help (? or Esc to close)", Color::Cyan);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    if two {
        let halves = Layout::default()
            .direction(Direction::Horizontal)
            .constraints([Constraint::Length(COLUMN_WIDTH), Constraint::Min(0)])
            .split(inner);
        for (lines, half) in columns.into_iter().zip(halves.iter()) {
            frame.render_widget(Paragraph::new(lines), *half);
        }
    } else {
        let mut lines = Vec::new();
        for (i, col) in columns.into_iter().enumerate() {
            if i > 0 {
                lines.push(Line::from(""));
            }
            lines.extend(col);
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

/// One column's sections, a blank line between them.
fn column(sections: &[Section]) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for (i, (section, keys)) in sections.iter().enumerate() {
        if i > 0 {
            lines.push(Line::from(""));
        }
        lines.push(Line::from(Span::styled(
            *section,
            Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
        )));
        for (key, what) in *keys {
            lines.push(Line::from(vec![
                Span::styled(
                    format!(" {key:<KEY_WIDTH$}"),
                    Style::default().add_modifier(Modifier::BOLD),
                ),
                Span::raw(*what),
            ]));
        }
    }
    lines
}
