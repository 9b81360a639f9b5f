//! The call panel (outgoing, in call, ended) and the incoming-call modal.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use zulip_calls_protocol::MediaState;

use super::{call_type_name, centered, format_duration, modal_block};
use crate::app::{CallPanel, EndSummary, InCall, Incoming, Model, Outgoing};

/// Rows the panel wants when it sits under the view on narrow terminals.
pub(super) const HEIGHT: u16 = 8;

/// Draws the panel for an outgoing, in-progress or ended call (incoming calls are a modal).
pub(super) fn draw(frame: &mut Frame, area: Rect, model: &Model) {
    let (title, colour, lines) = match &model.call {
        CallPanel::Outgoing(o) => ("Outgoing call", Color::Yellow, outgoing(model, o)),
        CallPanel::InCall(c) => ("In call", Color::Green, in_call(model, c)),
        CallPanel::Ended { summary } => ("Call ended", Color::Blue, ended(summary)),
        // A modal, or drawn by `group_panel`.
        CallPanel::Incoming(_)
        | CallPanel::None
        | CallPanel::GroupInvitation(_)
        | CallPanel::Group(_) => return,
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(colour))
        .title(Span::styled(
            format!(" {title} "),
            Style::default().add_modifier(Modifier::BOLD),
        ));
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(block),
        area,
    );
}

/// "Calling Ana…" until a device rings, then "Ringing Ana…", with the timers.
fn outgoing(model: &Model, o: &Outgoing) -> Vec<Line<'static>> {
    let status = if o.cancel_requested {
        format!("Cancelling call to {}…", o.to_name)
    } else if o.ringing {
        format!("Ringing {}…", o.to_name)
    } else {
        format!("Calling {}…", o.to_name)
    };
    let mut lines = vec![
        Line::from(Span::styled(
            status,
            Style::default().add_modifier(Modifier::BOLD),
        )),
        Line::from(format!("{} call", call_type_name(o.call_type))),
    ];
    if let Some(elapsed) = model.call_elapsed() {
        lines.push(Line::from(format!(
            "Elapsed   {}",
            format_duration(elapsed)
        )));
    }
    if let Some(left) = model.call_time_left() {
        lines.push(Line::from(format!("Time left {}", format_duration(left))));
    }
    lines
}

/// Who I am talking to, for how long, and both sides' media.
fn in_call(model: &Model, c: &InCall) -> Vec<Line<'static>> {
    let direction = if c.outgoing { "outgoing" } else { "incoming" };
    let mut lines = vec![
        Line::from(Span::styled(
            format!("With {}", c.other_name),
            Style::default().add_modifier(Modifier::BOLD),
        )),
        Line::from(format!("{} call, {direction}", call_type_name(c.call_type))),
    ];
    if let Some(elapsed) = model.call_elapsed() {
        lines.push(Line::from(format!(
            "Duration  {}",
            format_duration(elapsed)
        )));
    }
    lines.push(Line::from(""));
    if model.features.media_status {
        lines.push(media_line("You", &c.mine));
        lines.push(media_line(&c.other_name, &c.theirs));
    } else {
        lines.push(Line::from(Span::styled(
            "Media status: not supported by this server",
            Style::default().add_modifier(Modifier::DIM),
        )));
    }
    lines
}

/// One party's media state, alerts coloured so "muted" or "on hold" is seen at a glance.
fn media_line(who: &str, media: &MediaState) -> Line<'static> {
    let alert = Style::default()
        .fg(Color::Yellow)
        .add_modifier(Modifier::BOLD);
    let mut flags: Vec<(&str, Style)> = Vec::new();
    if !media.connected {
        flags.push(("not joined", Style::default().add_modifier(Modifier::DIM)));
    }
    if media.on_hold {
        flags.push(("on hold", alert));
    }
    flags.push(if media.muted {
        ("muted", alert)
    } else {
        ("mic on", Style::default())
    });
    flags.push(if media.video_off {
        ("camera off", alert)
    } else {
        ("camera on", Style::default())
    });
    if media.screen_sharing {
        flags.push(("sharing", Style::default().fg(Color::Cyan)));
    }
    let mut spans = vec![Span::styled(
        format!("{who}: "),
        Style::default().add_modifier(Modifier::BOLD),
    )];
    for (i, (text, style)) in flags.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(", "));
        }
        spans.push(Span::styled(text, style));
    }
    Line::from(spans)
}

/// The summary sentence (it already says who ended it and why) and how long it lasted.
fn ended(summary: &EndSummary) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(Span::styled(
        summary.text.clone(),
        Style::default().add_modifier(Modifier::BOLD),
    ))];
    match summary.duration {
        Some(d) => lines.push(Line::from(format!("Duration  {}", format_duration(d)))),
        None => lines.push(Line::from("Not answered")),
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "Esc to dismiss",
        Style::default().add_modifier(Modifier::DIM),
    )));
    lines
}

/// The ringing modal, centred over everything, so an incoming call cannot be missed.
pub(super) fn draw_incoming(frame: &mut Frame, area: Rect, model: &Model, i: &Incoming) {
    let key = Style::default().add_modifier(Modifier::BOLD);
    let mut lines = vec![
        Line::from(Span::styled(
            format!("{} is calling", i.from_name),
            Style::default().add_modifier(Modifier::BOLD),
        )),
        Line::from(format!("{} call", call_type_name(i.call_type))),
    ];
    match model.call_time_left() {
        Some(left) => lines.push(Line::from(format!(
            "Answer within {}",
            format_duration(left)
        ))),
        None => {
            if let Some(elapsed) = model.call_elapsed() {
                lines.push(Line::from(format!(
                    "Ringing for {}",
                    format_duration(elapsed)
                )));
            }
        }
    }
    lines.push(Line::from(""));
    match i.answered {
        None => lines.push(Line::from(vec![
            Span::styled("y/Enter", key.fg(Color::Green)),
            Span::raw(" accept   "),
            Span::styled("n", key.fg(Color::Red)),
            Span::raw(" reject"),
        ])),
        Some(action) => lines.push(Line::from(format!("Sending {action}…"))),
    }
    let rect = centered(area, 40, 8);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(modal_block("Incoming call", Color::Red)),
        rect,
    );
}
