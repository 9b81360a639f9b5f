//! The call history view: one page of past calls, with the server-side filters.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;
use ratatui::widgets::{Row, Table, TableState};
use zulip_calls_protocol::CallState;

use super::{
    call_type_name, direction_arrow, format_duration, format_time, render_placeholder,
    selected_style, view_block,
};
use crate::app::Model;

/// Draws the history table with the filters and page in the title.
pub(super) fn draw(frame: &mut Frame, area: Rect, model: &Model) {
    let h = &model.history;
    let page = h.offset / h.limit.max(1) + 1;
    let type_filter = h.call_type.map_or("all", |t| t.as_str());
    let state_filter = h.state.map_or("all", |s| s.as_str());
    let mut title = format!("History · page {page} · type: {type_filter} · state: {state_filter}");
    if let Some(total) = h.total {
        title.push_str(&format!(" · {total} calls"));
    }
    if h.loading {
        title.push_str(" · loading…");
    }
    let block = view_block(title);

    if h.entries.is_empty() {
        let text = if h.loading || !h.loaded {
            "Loading history…"
        } else {
            "No calls match"
        };
        render_placeholder(frame, area, block, text);
        return;
    }
    let rows = h.entries.iter().map(|e| {
        let arrow = direction_arrow(e.is_outgoing);
        Row::new(vec![
            Span::raw(arrow),
            Span::raw(e.user_name.clone()),
            Span::raw(call_type_name(e.call_type)),
            Span::styled(e.state.as_str(), state_style(e.state)),
            Span::raw(e.duration.map_or_else(|| "-".to_owned(), format_duration)),
            Span::raw(format_time(e.created_at)),
        ])
    });
    let header = Row::new(vec!["", "With", "Type", "State", "Duration", "Time"])
        .style(Style::default().add_modifier(Modifier::BOLD));
    let table = Table::new(
        rows,
        [
            Constraint::Length(1),
            Constraint::Min(8),
            Constraint::Length(5),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(16),
        ],
    )
    .header(header)
    .block(block)
    .row_highlight_style(selected_style());
    let mut state = TableState::default().with_selected(Some(h.selected.min(h.entries.len() - 1)));
    frame.render_stateful_widget(table, area, &mut state);
}

/// Missed calls in red so they stand out; answered ones in green.
fn state_style(state: CallState) -> Style {
    match state {
        CallState::Missed | CallState::Timeout => Style::default().fg(Color::Red),
        CallState::Ended | CallState::Accepted => Style::default().fg(Color::Green),
        _ => Style::default(),
    }
}
