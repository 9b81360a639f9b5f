//! Group calls on screen: the participants panel, the invitation modal and the title prompt.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use zulip_calls_protocol::UserId;
use zulip_calls_protocol::plugin::group::ParticipantState;

use super::{call_type_name, centered, format_duration, modal_block};
use crate::app::{GroupInvitation, GroupMember, GroupPending, InGroup, Model, TitlePrompt};

/// Rows above and below the participants in the panel (borders, title, type, timer, gap).
const PANEL_CHROME: u16 = 6;
/// The width of the state column.
const STATE_WIDTH: usize = 8;

/// Rows the panel wants when it sits under the view on narrow terminals.
pub(super) fn height(g: &InGroup) -> u16 {
    u16::try_from(g.members.len())
        .unwrap_or(u16::MAX)
        .saturating_add(PANEL_CHROME)
}

/// The colour of a participant's state: in (green), on the way (yellow), out (dim or red).
fn state_style(state: ParticipantState) -> Style {
    match state {
        ParticipantState::Joined => Style::default().fg(Color::Green),
        ParticipantState::Invited | ParticipantState::Ringing => Style::default().fg(Color::Yellow),
        ParticipantState::Declined | ParticipantState::Missed => Style::default().fg(Color::Red),
        ParticipantState::Left => Style::default().add_modifier(Modifier::DIM),
    }
}

/// "You" for me, the name for anyone else.
fn display_name(member: &GroupMember, me: UserId) -> String {
    if member.user_id == me {
        "You".to_owned()
    } else {
        member.name.clone()
    }
}

/// One participant: name (the host marked), and their state in its own column.
fn member_line(member: &GroupMember, me: UserId, width: usize) -> Line<'static> {
    let host = if member.is_host { " (host)" } else { "" };
    let name_width = width.saturating_sub(STATE_WIDTH + 1 + host.len());
    let mut name = display_name(member, me);
    if name.chars().count() > name_width {
        name = name
            .chars()
            .take(name_width.saturating_sub(1))
            .chain(['…'])
            .collect();
    }
    let pad = width
        .saturating_sub(name.chars().count() + host.len() + STATE_WIDTH)
        .max(1);
    let mut name_style = Style::default();
    if member.user_id == me {
        name_style = name_style.add_modifier(Modifier::BOLD);
    }
    Line::from(vec![
        Span::styled(name, name_style),
        Span::styled(host, Style::default().fg(Color::Cyan)),
        Span::raw(" ".repeat(pad)),
        Span::styled(
            format!("{:<STATE_WIDTH$}", member.state.as_str()),
            state_style(member.state),
        ),
    ])
}

/// The participants panel: title, type, how many are in, the timer, then everyone's state as
/// the last event listed it.
pub(super) fn draw(frame: &mut Frame, area: Rect, model: &Model, g: &InGroup) {
    let colour = if g.occupies() {
        Color::Green
    } else {
        Color::Blue
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(colour))
        .title(Span::styled(
            " Group call ",
            Style::default().add_modifier(Modifier::BOLD),
        ));
    // One column spare on the right, so the state never touches the border.
    let width = usize::from(area.width.saturating_sub(3));
    let mut lines = vec![
        Line::from(Span::styled(
            g.title.clone().unwrap_or_else(|| "Untitled".to_owned()),
            Style::default().add_modifier(Modifier::BOLD),
        )),
        Line::from(format!(
            "{} call · {} of {} in",
            call_type_name(g.call_type),
            g.joined_count(),
            g.members.len()
        )),
    ];
    let status = match (g.call_id, g.pending) {
        (None, _) => Some("Starting…".to_owned()),
        (_, Some(GroupPending::Leaving)) => Some("Leaving…".to_owned()),
        (_, Some(GroupPending::Ending)) => Some("Ending the call for everyone…".to_owned()),
        (_, Some(GroupPending::Joining)) => Some("Joining…".to_owned()),
        (_, Some(GroupPending::Inviting)) => Some("Inviting…".to_owned()),
        (_, None) if g.inviting => Some("Pick teammates to invite".to_owned()),
        (_, None) if !g.occupies() => Some(format!("You are out ({}): j rejoins", g.my_state)),
        (_, None) => model
            .call_elapsed()
            .map(|elapsed| format!("Duration  {}", format_duration(elapsed))),
    };
    if let Some(status) = status {
        lines.push(Line::from(status));
    }
    lines.push(Line::from(""));
    lines.extend(g.members.iter().map(|m| member_line(m, model.me, width)));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The invitation modal, over everything like a 1:1 call's: who invites, the title, who is
/// already in, and the same keys as a 1:1 call.
pub(super) fn draw_invitation(frame: &mut Frame, area: Rect, model: &Model, i: &GroupInvitation) {
    let key = Style::default().add_modifier(Modifier::BOLD);
    let mut lines = vec![Line::from(Span::styled(
        format!("{} invites you to a group call", i.inviter_name),
        Style::default().add_modifier(Modifier::BOLD),
    ))];
    if let Some(title) = &i.title {
        lines.push(Line::from(format!("“{title}”")));
    }
    let ringing = model
        .call_elapsed()
        .map(|elapsed| format!(" · ringing {}", format_duration(elapsed)))
        .unwrap_or_default();
    lines.push(Line::from(format!(
        "{} call{ringing}",
        call_type_name(i.call_type)
    )));
    let joined: Vec<String> = i
        .joined()
        .map(|m| {
            if m.is_host {
                format!("{} (host)", m.name)
            } else {
                m.name.clone()
            }
        })
        .collect();
    let in_call = if joined.is_empty() {
        "nobody yet".to_owned()
    } else {
        joined.join(", ")
    };
    lines.push(Line::from(vec![
        Span::styled(
            "In the call: ",
            Style::default().add_modifier(Modifier::DIM),
        ),
        Span::raw(in_call),
    ]));
    lines.push(Line::from(""));
    match i.answered {
        None => lines.push(Line::from(vec![
            Span::styled("y/Enter", key.fg(Color::Green)),
            Span::raw(" join   "),
            Span::styled("n", key.fg(Color::Red)),
            Span::raw(" decline"),
        ])),
        Some(crate::app::GroupAnswer::Join) => lines.push(Line::from("Joining…")),
        Some(crate::app::GroupAnswer::Decline) => lines.push(Line::from("Declining…")),
    }
    let rect = centered(area, 48, 9);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(modal_block("Group call invitation", Color::Red)),
        rect,
    );
}

/// The title prompt before a group call starts, naming whom it calls.
pub(super) fn draw_title_prompt(frame: &mut Frame, area: Rect, model: &Model, p: &TitlePrompt) {
    let key = Style::default().add_modifier(Modifier::BOLD);
    let names: Vec<String> = p
        .invitees
        .iter()
        .map(|id| {
            model
                .teammates
                .iter()
                .find(|t| t.user_id == *id)
                .map_or_else(|| format!("user {}", id.0), |t| t.name.clone())
        })
        .collect();
    let lines = vec![
        Line::from(vec![
            Span::styled("With ", Style::default().add_modifier(Modifier::DIM)),
            Span::raw(names.join(", ")),
        ]),
        Line::from(""),
        Line::from(vec![
            Span::styled("Title (optional): ", key),
            Span::raw(p.title.clone()),
            Span::styled("_", Style::default().add_modifier(Modifier::SLOW_BLINK)),
        ]),
        Line::from(""),
        Line::from(vec![
            Span::styled("Enter", key),
            Span::raw(" start   "),
            Span::styled("Esc", key),
            Span::raw(" cancel"),
        ]),
    ];
    let title = format!("Start a group {} call", p.call_type);
    let rect = centered(area, 52, 8);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(modal_block(&title, Color::Yellow)),
        rect,
    );
}
