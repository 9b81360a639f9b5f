//! The event log pane, toggled with `l`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::view_block;
use crate::app::Model;

/// Draws the newest lines that fit, oldest at the top, so the pane reads like a tail.
pub(super) fn draw(frame: &mut Frame, area: Rect, model: &Model) {
    let block = view_block("Event log".to_owned());
    let rows = usize::from(block.inner(area).height);
    let skip = model.log.lines.len().saturating_sub(rows);
    let lines: Vec<Line> = model
        .log
        .lines
        .iter()
        .skip(skip)
        .map(|l| Line::from(l.clone()))
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
