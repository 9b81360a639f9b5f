//! The views: pure rendering of the [`Model`]. Nothing here does I/O or changes state, so every
//! screen can be snapshot-tested from a model built in a line.
//!
//! Layout, top to bottom: a header line, the main area (the current view, with the call panel
//! beside or below it when there is a call), the optional event log, the notice line and the
//! status bar. Modals (incoming call, help, confirmations) are drawn last, centred on top.

mod active;
mod call_panel;
mod group_panel;
mod help;
mod history;
mod history_chart;
mod log;
mod login;
mod status_bar;
mod teammates;

#[cfg(test)]
mod group_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod view_tests;

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use zulip_calls_protocol::{CallType, Timestamp};

use crate::app::{CallPanel, Model, Overlay, View};

pub use login::draw_login;

/// The name shown in the header.
const APP_NAME: &str = "Zulip Calls";
/// Width of the call panel when it sits beside the view.
const PANEL_WIDTH: u16 = 36;
/// Below this width the call panel goes under the view instead of beside it.
const SIDE_BY_SIDE_MIN: u16 = 72;
/// Rows of the event log pane when it is open (fewer on small terminals).
const LOG_ROWS: u16 = 8;

/// Draws the whole screen for `model`.
pub fn draw(frame: &mut Frame, model: &Model) {
    let area = frame.area();
    if area.width == 0 || area.height == 0 {
        return;
    }
    let notice = model.current_notice().is_some();
    // The log only takes room the main area can spare, so tiny terminals keep the essentials.
    let log_rows = if model.show_log {
        LOG_ROWS.min(area.height.saturating_sub(6))
    } else {
        0
    };
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Min(0),
            Constraint::Length(log_rows),
            Constraint::Length(u16::from(notice)),
            Constraint::Length(1),
        ])
        .split(area);

    draw_header(frame, rows[0], model);
    draw_main(frame, rows[1], model);
    if log_rows > 0 {
        log::draw(frame, rows[2], model);
    }
    if notice {
        status_bar::draw_notice(frame, rows[3], model);
    }
    status_bar::draw(frame, rows[4], model);

    // Modals last, over everything. The incoming call comes before help so `?` stays readable.
    match &model.call {
        CallPanel::Incoming(incoming) => call_panel::draw_incoming(frame, area, model, incoming),
        CallPanel::GroupInvitation(invitation) => {
            group_panel::draw_invitation(frame, area, model, invitation);
        }
        _ => {}
    }
    match &model.overlay {
        Overlay::None => {}
        Overlay::Help => help::draw(frame, area),
        Overlay::ConfirmEndAll => active::draw_confirm_end_all(frame, area, model),
        Overlay::ConfirmQuit => {
            let question = if matches!(model.call, CallPanel::Group(_)) {
                "Quitting leaves the group call (it goes on without you). Quit anyway?"
            } else {
                "Quitting ends the current call. Quit anyway?"
            };
            draw_confirm(frame, area, "Quit", question);
        }
        Overlay::GroupTitle(prompt) => group_panel::draw_title_prompt(frame, area, model, prompt),
        Overlay::ConfirmLeaveGroup => draw_confirm(
            frame,
            area,
            "Leave group call",
            "Leave the group call? It goes on without you, and j joins it again.",
        ),
        Overlay::ConfirmEndGroup => {
            let others = model
                .group()
                .map_or(0, |g| g.joined_count().saturating_sub(1));
            let question = match others {
                0 => "End the group call for everyone? Nobody can join it any more.".to_owned(),
                1 => {
                    "End the group call for everyone? The other participant is cut off.".to_owned()
                }
                n => format!("End the group call for everyone? The {n} others are cut off."),
            };
            draw_confirm(frame, area, "End group call", &question);
        }
    }
}

/// App name, who I am and how the connection is doing, on one line.
fn draw_header(frame: &mut Frame, area: Rect, model: &Model) {
    let me = model
        .teammates
        .iter()
        .find(|t| t.user_id == model.me)
        .map_or_else(|| format!("user {}", model.me.0), |t| t.name.clone());
    let line = Line::from(vec![
        Span::styled(
            format!(" {APP_NAME} "),
            Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED),
        ),
        Span::raw(format!(" {me} ")),
        Span::styled(
            format!("· {}", view_name(model.view)),
            Style::default().add_modifier(Modifier::DIM),
        ),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

/// The current view, plus the call panel when a call (other than a modal incoming one) is shown.
fn draw_main(frame: &mut Frame, area: Rect, model: &Model) {
    if area.height == 0 {
        return;
    }
    let panel = matches!(
        model.call,
        CallPanel::Outgoing(_)
            | CallPanel::InCall(_)
            | CallPanel::Ended { .. }
            | CallPanel::Group(_)
    );
    let (view_area, panel_area) = if !panel {
        (area, None)
    } else if area.width >= SIDE_BY_SIDE_MIN {
        let cols = Layout::default()
            .direction(Direction::Horizontal)
            .constraints([Constraint::Min(0), Constraint::Length(PANEL_WIDTH)])
            .split(area);
        (cols[0], Some(cols[1]))
    } else {
        // Narrow: the call matters more than the list, so it gets the room first.
        let wanted = match &model.call {
            CallPanel::Group(g) => group_panel::height(g).max(call_panel::HEIGHT),
            _ => call_panel::HEIGHT,
        };
        let panel_rows = wanted.min(area.height);
        let rows = Layout::default()
            .direction(Direction::Vertical)
            .constraints([Constraint::Min(0), Constraint::Length(panel_rows)])
            .split(area);
        (rows[0], Some(rows[1]))
    };
    match model.view {
        View::Teammates => teammates::draw(frame, view_area, model),
        View::History => {
            // The chart of the last days above the table, where the table keeps some rows.
            let chart = view_area.height >= history_chart::HEIGHT + 8;
            let rows = Layout::default()
                .direction(Direction::Vertical)
                .constraints([
                    Constraint::Length(if chart { history_chart::HEIGHT } else { 0 }),
                    Constraint::Min(0),
                ])
                .split(view_area);
            if chart {
                history_chart::draw(frame, rows[0], model);
            }
            history::draw(frame, rows[1], model);
        }
        View::Active => active::draw(frame, view_area, model),
    }
    if let Some(panel_area) = panel_area {
        match &model.call {
            CallPanel::Group(g) => group_panel::draw(frame, panel_area, model, g),
            _ => call_panel::draw(frame, panel_area, model),
        }
    }
}

/// A small yes/no modal.
fn draw_confirm(frame: &mut Frame, area: Rect, title: &str, question: &str) {
    let text = vec![
        Line::from(question.to_owned()),
        Line::from(""),
        Line::from(vec![
            Span::styled("y", Style::default().add_modifier(Modifier::BOLD)),
            Span::raw(" confirm   "),
            Span::styled("n/Esc", Style::default().add_modifier(Modifier::BOLD)),
            Span::raw(" cancel"),
        ]),
    ];
    let rect = centered(area, 48, 6);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: true })
            .block(modal_block(title, Color::Yellow)),
        rect,
    );
}

/// A bordered block for modals, in an alert colour so it stands out from the screen beneath.
fn modal_block(title: &str, colour: Color) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(colour).add_modifier(Modifier::BOLD))
        .title(Span::styled(
            format!(" {title} "),
            Style::default().add_modifier(Modifier::BOLD),
        ))
}

/// A `width` x `height` rectangle centred in `area`, shrunk to fit so small terminals never
/// overflow the buffer.
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

/// The view's name, for the header.
const fn view_name(view: View) -> &'static str {
    match view {
        View::Teammates => "Teammates",
        View::History => "History",
        View::Active => "Active calls",
    }
}

/// "Video" or "Audio".
const fn call_type_name(call_type: CallType) -> &'static str {
    match call_type {
        CallType::Video => "Video",
        CallType::Audio => "Audio",
    }
}

/// Seconds as `m:ss`, or `h:mm:ss` past an hour, like a phone's call timer.
fn format_duration(seconds: f64) -> String {
    // Truncation is intended: a timer shows whole elapsed seconds.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let total = seconds.max(0.0).floor() as u64;
    let (h, m, s) = (total / 3600, (total / 60) % 60, total % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// A timestamp as `YYYY-MM-DD HH:MM` (UTC), short enough for a table column.
fn format_time(at: Timestamp) -> String {
    at.0.format("%Y-%m-%d %H:%M").to_string()
}

/// The style of the highlighted row.
fn selected_style() -> Style {
    Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
}

/// A titled, bordered block for the main views.
/// A dimmed one-line message in place of an empty list ("Loading…", "No calls match").
fn render_placeholder(frame: &mut Frame, area: Rect, block: Block<'_>, text: &str) {
    frame.render_widget(
        Paragraph::new(Span::styled(
            text,
            Style::default().add_modifier(Modifier::DIM),
        ))
        .block(block),
        area,
    );
}

/// ↗ placed by me, ↙ placed to me: one-column arrows keep tables aligned.
fn direction_arrow(is_outgoing: bool) -> &'static str {
    if is_outgoing { "↗" } else { "↙" }
}

fn view_block(title: String) -> Block<'static> {
    Block::default().borders(Borders::ALL).title(Span::styled(
        format!(" {title} "),
        Style::default().add_modifier(Modifier::BOLD),
    ))
}
