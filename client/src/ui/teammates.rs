//! The teammates view: a filterable list of people to call, marked with Space for a group call
//! (or for inviting to the one going on).

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState, Paragraph};

use super::{selected_style, view_block};
use crate::app::Model;
use crate::app::presence::Availability;

/// Draws the filter line and the list, with the selection highlighted.
pub(super) fn draw(frame: &mut Frame, area: Rect, model: &Model) {
    let visible = model.visible_teammates();
    let inviting = model.inviting();
    let marking = inviting || !model.marked.is_empty();
    let title = if inviting {
        format!("Invite to the group call ({} marked)", model.marked.len())
    } else if marking {
        format!(
            "Teammates ({}) · {} marked for a group call",
            visible.len(),
            model.marked.len()
        )
    } else {
        format!("Teammates ({})", visible.len())
    };
    let block = view_block(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Length(1), Constraint::Min(0)])
        .split(inner);
    frame.render_widget(Paragraph::new(filter_line(model)), rows[0]);

    if visible.is_empty() {
        let text = if model.teammates.is_empty() {
            "Loading teammates…"
        } else {
            "No teammates match the filter"
        };
        frame.render_widget(
            Paragraph::new(Span::styled(
                text,
                Style::default().add_modifier(Modifier::DIM),
            )),
            rows[1],
        );
        return;
    }
    let items: Vec<ListItem> = visible
        .iter()
        .map(|t| {
            let mut spans = Vec::new();
            if marking {
                spans.push(if model.is_marked(t.user_id) {
                    Span::styled(
                        "[x] ",
                        Style::default()
                            .fg(Color::Green)
                            .add_modifier(Modifier::BOLD),
                    )
                } else {
                    Span::raw("[ ] ")
                });
            }
            let availability = model.availability(t);
            if let Some(a) = availability.filter(|_| model.roster.known) {
                spans.push(mark(a));
            }
            spans.push(Span::raw(t.name.clone()));
            if t.is_bot {
                spans.push(Span::styled(" [bot]", Style::default().fg(Color::Cyan)));
            }
            let in_this_call = inviting && model.group().is_some_and(|g| g.is_engaged(t.user_id));
            if in_this_call {
                spans.push(Span::styled(
                    " (in this call)",
                    Style::default().fg(Color::Yellow),
                ));
            } else if let Some(a) = availability.filter(|a| a.is_labelled()) {
                spans.push(Span::styled(format!(" ({})", a.label()), label_style(a)));
            }
            spans.push(Span::styled(
                format!("  {}", t.email),
                Style::default().add_modifier(Modifier::DIM),
            ));
            ListItem::new(Line::from(spans))
        })
        .collect();
    let list = List::new(items)
        .highlight_style(selected_style())
        .highlight_symbol("> ");
    let mut state = ListState::default().with_selected(Some(model.selected.min(visible.len() - 1)));
    frame.render_stateful_widget(list, rows[1], &mut state);
}

/// The dot before a name: green when they can take a call now, grey when offline.
fn mark(availability: Availability) -> Span<'static> {
    let (dot, colour) = match availability {
        Availability::Active => ("● ", Color::Green),
        Availability::Idle => ("◐ ", Color::Yellow),
        Availability::Bot => ("● ", Color::Cyan),
        Availability::InCall => ("● ", Color::Magenta),
        Availability::DoNotDisturb => ("● ", Color::Red),
        Availability::Offline => ("○ ", Color::DarkGray),
    };
    Span::styled(dot, Style::default().fg(colour))
}

fn label_style(availability: Availability) -> Style {
    match availability {
        Availability::InCall => Style::default().fg(Color::Yellow),
        Availability::DoNotDisturb => Style::default().fg(Color::Red),
        _ => Style::default().add_modifier(Modifier::DIM),
    }
}

/// The filter as typed, with a cursor while typing, or a hint when there is none.
fn filter_line(model: &Model) -> Line<'static> {
    let label = Span::styled("Filter: ", Style::default().add_modifier(Modifier::BOLD));
    if model.filtering {
        Line::from(vec![
            label,
            Span::raw(model.filter.clone()),
            Span::styled("_", Style::default().add_modifier(Modifier::SLOW_BLINK)),
        ])
    } else if model.filter.is_empty() {
        Line::from(Span::styled(
            "Press / to filter",
            Style::default().add_modifier(Modifier::DIM),
        ))
    } else {
        Line::from(vec![label, Span::raw(model.filter.clone())])
    }
}
