//! The History view's glance: calls per day over the last two weeks as stacked bars
//! (answered, declined, missed), with the answer rate and the average call length.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{format_duration, view_block};
use crate::app::Model;
use crate::app::stats::{CHART_DAYS, Day, Stats, compute};

/// Rows of bars.
const BAR_ROWS: u16 = 4;
/// Rows the chart takes: borders, the summary, the bars and the day labels.
pub(super) const HEIGHT: u16 = BAR_ROWS + 4;

const ANSWERED: Color = Color::Green;
const DECLINED: Color = Color::Yellow;
const MISSED: Color = Color::Red;
const OTHER: Color = Color::DarkGray;

/// Draws the chart of the recent calls into `area` (of [`HEIGHT`] rows).
pub(super) fn draw(frame: &mut Frame, area: Rect, model: &Model) {
    let block = view_block(format!("Last {CHART_DAYS} days"));
    if !model.recent.loaded {
        let text = Paragraph::new("Loading…").block(block);
        frame.render_widget(text, area);
        return;
    }
    let stats = compute(&model.recent.entries, model.now, CHART_DAYS);
    let mut lines = vec![summary(&stats)];
    let max = stats
        .per_day
        .iter()
        .map(|d| d.total)
        .max()
        .unwrap_or(0)
        .max(1);
    for row in (0..BAR_ROWS).rev() {
        let mut spans = Vec::new();
        for day in &stats.per_day {
            spans.push(match cell(day, row, max) {
                Some(colour) => Span::styled("██", Style::default().fg(colour)),
                None => Span::raw("  "),
            });
            spans.push(Span::raw(" "));
        }
        lines.push(Line::from(spans));
    }
    let labels: Vec<Span> = stats
        .per_day
        .iter()
        .map(|d| Span::raw(format!("{} ", d.date.get(8..10).unwrap_or("??"))))
        .collect();
    lines.push(Line::from(labels));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// "12 calls · 8 answered · 3 missed · 1 declined · answer rate 67% · average 3:05".
fn summary(stats: &Stats) -> Line<'static> {
    let rate = stats
        .answer_rate
        .map_or_else(|| "-".to_owned(), |r| format!("{:.0}%", r * 100.0));
    let average = stats
        .average_seconds
        .map_or_else(|| "-".to_owned(), format_duration);
    Line::from(vec![
        Span::raw(format!("{} calls · ", stats.total)),
        Span::styled(
            format!("{} answered", stats.answered),
            Style::default().fg(ANSWERED),
        ),
        Span::raw(" · "),
        Span::styled(
            format!("{} missed", stats.missed),
            Style::default().fg(MISSED),
        ),
        Span::raw(" · "),
        Span::styled(
            format!("{} declined", stats.declined),
            Style::default().fg(DECLINED),
        ),
        Span::raw(format!(" · answer rate {rate} · average {average}")),
    ])
}

/// The colour of the bar of `day` at `row` (0 is the bottom), scaled so `max` calls fill the
/// column; a day with any call of a kind shows at least one cell of it where room allows.
fn cell(day: &Day, row: u16, max: u32) -> Option<Color> {
    let other = day.total - day.answered - day.declined - day.missed;
    let mut cumulative = 0;
    for (count, colour) in [
        (day.answered, ANSWERED),
        (day.declined, DECLINED),
        (day.missed, MISSED),
        (other, OTHER),
    ] {
        cumulative += count;
        let top = (cumulative * u32::from(BAR_ROWS)).div_ceil(max);
        if count > 0 && u32::from(row) < top {
            return Some(colour);
        }
    }
    None
}
