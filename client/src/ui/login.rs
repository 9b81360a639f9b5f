//! The sign-in form: three fields in a centred box, a status or error line and the keys.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Padding, Paragraph, Wrap};

use super::{APP_NAME, centered};
use crate::app::login::{Field, LoginModel, Stage};

/// Size of the form's box (shrunk on small terminals).
const WIDTH: u16 = 64;
const HEIGHT: u16 = 13;
/// Width of the field labels, so the inputs line up.
const LABEL: usize = 10;

/// Draws the whole screen for the sign-in form.
pub fn draw_login(frame: &mut Frame, model: &LoginModel) {
    let area = frame.area();
    if area.width == 0 || area.height == 0 {
        return;
    }
    let rect = centered(area, WIDTH, HEIGHT);
    let editing = model.stage == Stage::Editing;
    let mut lines = vec![
        Line::from(Span::styled(
            "No Zulip account is configured: sign in with your password.",
            Style::default().add_modifier(Modifier::DIM),
        )),
        Line::from(""),
        field_line("Server", &model.server, model, Field::Server, editing),
        field_line("Email", &model.email, model, Field::Email, editing),
        field_line(
            "Password",
            &"•".repeat(model.password.chars().count()),
            model,
            Field::Password,
            editing,
        ),
        Line::from(""),
    ];
    lines.push(status_line(model));
    if let Some(error) = &model.error {
        lines.push(Line::from(Span::styled(
            error.clone(),
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        )));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        model.key_hints(),
        Style::default().add_modifier(Modifier::DIM),
    )));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(Color::Cyan))
        .padding(Padding::horizontal(1))
        .title(Span::styled(
            format!(" {APP_NAME} · Sign in "),
            Style::default().add_modifier(Modifier::BOLD),
        ));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        rect,
    );
    if editing {
        place_cursor(frame, rect, model);
    }
}

/// `Label     value` with the focused field highlighted.
fn field_line(
    label: &str,
    value: &str,
    model: &LoginModel,
    field: Field,
    editing: bool,
) -> Line<'static> {
    let focused = editing && model.focus == field;
    let marker = if focused { "›" } else { " " };
    let value_style = if focused {
        Style::default().add_modifier(Modifier::UNDERLINED)
    } else {
        Style::default()
    };
    let mut spans = vec![
        Span::styled(
            format!("{marker} {label:<LABEL$}"),
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::styled(value.to_owned(), value_style),
    ];
    if field == Field::Server
        && let Some(info) = &model.server_info
    {
        let name = info.realm_name.as_deref().unwrap_or("Zulip");
        spans.push(Span::styled(
            format!("  ✓ {name}"),
            Style::default().fg(Color::Green),
        ));
    }
    Line::from(spans)
}

/// What is going on: the request in flight, or the save question.
fn status_line(model: &LoginModel) -> Line<'static> {
    let text = match &model.stage {
        Stage::Editing | Stage::Done => String::new(),
        Stage::CheckingServer => format!("Checking {}…", model.server.trim()),
        Stage::SigningIn => format!("Signing in as {}…", model.email.trim()),
        Stage::OfferSave { path } => {
            format!("Signed in. Save these credentials to {path} (readable only by you)? y/n")
        }
        Stage::Saving => "Saving…".to_owned(),
    };
    Line::from(Span::styled(
        text,
        Style::default()
            .fg(Color::Yellow)
            .add_modifier(Modifier::BOLD),
    ))
}

/// The terminal cursor at the end of the focused field, so typing feels like a text box.
fn place_cursor(frame: &mut Frame, rect: Rect, model: &LoginModel) {
    let (row, text_len) = match model.focus {
        Field::Server => (2, model.server.chars().count()),
        Field::Email => (3, model.email.chars().count()),
        Field::Password => (4, model.password.chars().count()),
    };
    let column = 2 + LABEL + text_len;
    // Border and padding come before the text.
    let x = rect.x + 2 + u16::try_from(column).unwrap_or(u16::MAX);
    let y = rect.y + 1 + row;
    if x < rect.right().saturating_sub(2) && y < rect.bottom().saturating_sub(1) {
        frame.set_cursor_position((x, y));
    }
}
