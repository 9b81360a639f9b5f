//! The active calls view and its end-all confirmation.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Row, Table, TableState};

use super::{
    call_type_name, direction_arrow, draw_confirm, format_duration, render_placeholder,
    selected_style, view_block,
};
use crate::app::Model;

/// Draws the table of my active calls.
pub(super) fn draw(frame: &mut Frame, area: Rect, model: &Model) {
    let a = &model.active;
    let mut title = format!("Active calls ({})", a.calls.len());
    if a.loading {
        title.push_str(" · loading…");
    }
    let block = view_block(title);
    if a.calls.is_empty() {
        let text = if a.loading || !a.loaded {
            "Loading active calls…"
        } else {
            "No active calls"
        };
        render_placeholder(frame, area, block, text);
        return;
    }
    let rows = a.calls.iter().map(|c| {
        let arrow = direction_arrow(c.is_outgoing);
        let age = format_duration(model.now.seconds_since(c.created_at));
        Row::new(vec![
            arrow.to_owned(),
            c.sender_name.clone(),
            c.receiver_name.clone(),
            call_type_name(c.call_type).to_owned(),
            c.state.as_str().to_owned(),
            age,
        ])
    });
    let header = Row::new(vec!["", "From", "To", "Type", "State", "Age"])
        .style(Style::default().add_modifier(Modifier::BOLD));
    let table = Table::new(
        rows,
        [
            Constraint::Length(1),
            Constraint::Min(8),
            Constraint::Min(8),
            Constraint::Length(5),
            Constraint::Length(9),
            Constraint::Length(8),
        ],
    )
    .header(header)
    .block(block)
    .row_highlight_style(selected_style());
    let mut state = TableState::default().with_selected(Some(a.selected.min(a.calls.len() - 1)));
    frame.render_stateful_widget(table, area, &mut state);
}

/// "End all N calls?", since ending calls cannot be undone.
pub(super) fn draw_confirm_end_all(frame: &mut Frame, area: Rect, model: &Model) {
    let n = model.active.calls.len();
    let plural = if n == 1 { "" } else { "s" };
    draw_confirm(
        frame,
        area,
        "End all calls",
        &format!("End all {n} active call{plural}?"),
    );
}
