//! Draws the browser: a header (store, driver, total, measure, sort, where the user is), the
//! rows (size, share of the level shown, a size bar, entries, name), a panel with what
//! `advise` says of the selected row, and a footer with the keys; `?` shows them all. Nothing
//! here changes the browser but its scroll position.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::model::{Browser, Row};
use crate::render::du::bar;

/// Lines of the header.
const HEADER: u16 = 2;
/// Lines of the advice panel, its border included.
const PANEL: u16 = 6;
/// Lines of the footer.
const FOOTER: u16 = 1;
/// The keys, one line each, as the help shows them.
const KEYS: &[&str] = &[
    "↑ ↓ k j        move",
    "PgUp PgDn      a page up, down",
    "Home End       first, last row",
    "Enter → l      open: a kind's owners, an owner's paths, a directory",
    "← h Backspace  back up",
    "s n c          sort by size, name, count (again: reverse)",
    "a              apparent / allocated sizes",
    "?              this help",
    "q Esc          quit",
    "",
    "Read-only: advice shows commands, it never runs them.",
];

/// Draws `browser` on the whole frame.
pub fn draw(frame: &mut Frame, browser: &mut Browser) {
    let [header, rows, panel, footer] = Layout::vertical([
        Constraint::Length(HEADER),
        Constraint::Min(2),
        Constraint::Length(PANEL),
        Constraint::Length(FOOTER),
    ])
    .areas(frame.area());
    frame.render_widget(
        Paragraph::new(header_lines(browser, usize::from(header.width))),
        header,
    );
    draw_rows(frame, browser, rows);
    frame.render_widget(
        Paragraph::new(panel_lines(&browser.panel().lines, usize::from(PANEL - 2)))
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" advise ")),
        panel,
    );
    let hints = browser.message.clone().unwrap_or_else(|| {
        "↑↓ move  Enter/→ open  ←/Backspace back  s/n/c sort  a apparent  ? help  q quit".to_owned()
    });
    frame.render_widget(Paragraph::new(hints), footer);
    if browser.help {
        draw_help(frame);
    }
}

/// The first of `lines` that fit in `room` lines, the last of them saying how many more
/// there are when they do not all fit.
fn panel_lines(lines: &[String], room: usize) -> Vec<Line<'_>> {
    if lines.len() <= room {
        return lines.iter().map(|l| Line::raw(l.as_str())).collect();
    }
    let shown = room.saturating_sub(1);
    let mut out: Vec<Line> = lines[..shown]
        .iter()
        .map(|l| Line::raw(l.as_str()))
        .collect();
    out.push(Line::raw(format!(
        "… and {} more (`strata advise` lists them all)",
        lines.len() - shown
    )));
    out
}

/// The store, its total in the measure shown, the sort; then the way down to the level shown.
fn header_lines(b: &Browser, width: usize) -> Vec<Line<'static>> {
    let (root, driver) = b.store();
    let arrow = if b.sort.descending { "↓" } else { "↑" };
    let problems = match b.problems() {
        0 => String::new(),
        1 => "  1 problem (printed on exit)".to_owned(),
        n => format!("  {n} problems (printed on exit)"),
    };
    let first = format!(
        "strata du -i  {} ({driver})  total {} {}  sort: {} {arrow}{problems}",
        crate::render::path(root),
        b.style.bytes(b.measure.of(&b.total())),
        b.measure.label(),
        b.sort.key.label(),
    );
    let crumbs = b.breadcrumb();
    let second = if crumbs.is_empty() {
        "/".to_owned()
    } else {
        format!("/ {}", crumbs.join(" / "))
    };
    // The deepest names matter most: a long way down loses its start.
    vec![Line::raw(first), Line::raw(cut_start(&second, width))]
}

/// A title line, then the rows that fit, the selected one marked `>` and reversed.
fn draw_rows(frame: &mut Frame, b: &mut Browser, area: Rect) {
    let [title, list] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let measure = b.measure.label().to_uppercase();
    frame.render_widget(
        Paragraph::new(format!(
            "  {measure:>12}  SHARE {:<width$}   ENTRIES  NAME",
            "",
            width = bar(0, 1).chars().count()
        )),
        title,
    );
    let offset = b.set_page(usize::from(list.height));
    let whole = b.measure.of(&b.shown_sizes());
    let selected = b.selected();
    let rows = b.rows();
    if rows.is_empty() {
        frame.render_widget(Paragraph::new("  (empty)"), list);
        return;
    }
    let lines: Vec<Line> = rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(usize::from(list.height))
        .map(|(i, row)| {
            let text = row_text(row, whole, b, i == selected, usize::from(list.width));
            if i == selected {
                Line::styled(text, Style::new().add_modifier(Modifier::REVERSED))
            } else {
                Line::raw(text)
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), list);
}

/// `> 12345  42.0% ████░░░░  17  name  (note)`, the name cut in the middle to fit in
/// `width` columns (its note is then cut at the edge).
fn row_text(row: &Row, whole: u64, b: &Browser, selected: bool, width: usize) -> String {
    let bytes = b.measure.of(&row.sizes);
    let share = bytes as f64 * 100.0 / whole.max(1) as f64;
    let mark = if selected { '>' } else { ' ' };
    let open = if row.openable { "/" } else { "" };
    let note = if row.note.is_empty() {
        String::new()
    } else {
        format!("  ({})", row.note)
    };
    let head = format!(
        "{mark} {:>12} {share:>5.1}% {} {:>9}  ",
        b.style.bytes(bytes),
        bar(bytes, whole),
        row.sizes.entries,
    );
    let room = width.saturating_sub(head.chars().count() + open.len());
    format!("{head}{}{open}{note}", cut_middle(row.label, room))
}

/// `text` in at most `room` characters: its start and its end around `…` when it is longer.
fn cut_middle(text: &str, room: usize) -> String {
    let len = text.chars().count();
    if len <= room || room < 3 {
        return text.to_owned();
    }
    let tail = (room - 1) / 3;
    let head = room - 1 - tail;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(len - tail).collect();
    format!("{start}…{end}")
}

/// `text` in at most `room` characters: its end after `…` when it is longer.
fn cut_start(text: &str, room: usize) -> String {
    let len = text.chars().count();
    if len <= room || room < 2 {
        return text.to_owned();
    }
    let end: String = text.chars().skip(len - (room - 1)).collect();
    format!("…{end}")
}

/// The keys, over the middle of the screen.
fn draw_help(frame: &mut Frame) {
    let area = frame.area();
    let width = (KEYS.iter().map(|k| k.chars().count()).max().unwrap_or(0) + 4) as u16;
    let height = KEYS.len() as u16 + 2;
    let popup = Rect {
        x: area.x + area.width.saturating_sub(width) / 2,
        y: area.y + area.height.saturating_sub(height) / 2,
        width: width.min(area.width),
        height: height.min(area.height),
    };
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(KEYS.iter().map(|k| Line::raw(*k)).collect::<Vec<_>>())
            .block(Block::bordered().title(" keys (any key closes) ")),
        popup,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::model::tests::sample;
    use crate::tui::model::Action;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    /// The screen's lines after drawing `b` on a 100x24 terminal.
    fn screen(b: &mut Browser) -> Vec<String> {
        let mut terminal = Terminal::new(TestBackend::new(100, 24)).unwrap();
        terminal.draw(|f| draw(f, b)).unwrap();
        let buffer = terminal.backend().buffer();
        (0..buffer.area.height)
            .map(|y| {
                (0..buffer.area.width)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
                    .trim_end()
                    .to_owned()
            })
            .collect()
    }

    fn line_with<'a>(screen: &'a [String], text: &str) -> &'a str {
        screen
            .iter()
            .find(|l| l.contains(text))
            .unwrap_or_else(|| panic!("no line with {text:?} in {screen:#?}"))
    }

    #[test]
    fn draws_the_header_rows_panel_and_footer() {
        let (dir, mut b) = sample();
        let s = screen(&mut b);
        assert!(s[0].contains(&format!("{} (overlay2)", dir.path().display())));
        assert!(s[0].contains("total 61440 allocated"), "{}", s[0]);
        assert!(s[0].contains("sort: size ↓  1 problem"), "{}", s[0]);
        assert_eq!(s[1], "/");
        assert!(s[2].contains("ALLOCATED  SHARE"), "{}", s[2]);
        let first = line_with(&s, "image layers");
        assert!(first
            .starts_with(">        49152  80.0% ████████████████░░░░         2  image layers/"));
        assert!(line_with(&s, "container layers").starts_with("         12288  20.0%"));
        line_with(&s, "rmi: reclaims 8192, risk medium");
        line_with(&s, "$ docker rmi -f");
        assert!(s[23].contains("? help  q quit"));
    }

    #[test]
    fn the_measure_and_the_descent_show_in_the_header_and_rows() {
        let (_dir, mut b) = sample();
        b.apply(Action::Open);
        b.apply(Action::ToggleMeasure);
        let s = screen(&mut b);
        assert!(s[0].contains("total 87000 apparent"), "{}", s[0]);
        assert_eq!(s[1], "/ image layers");
        assert!(line_with(&s, "small").starts_with("         50000  62.5%"));
        assert!(
            line_with(&s, "big").starts_with(">        30000  37.5%"),
            "the selection stays on big"
        );
        line_with(&s, "no cleanup advised: in use by app:1");
        b.apply(Action::Up);
        line_with(&screen(&mut b), "rmi: reclaims 8192");
        b.apply(Action::Help);
        line_with(&screen(&mut b), "s n c          sort by size, name, count");
    }

    #[test]
    fn the_panel_says_how_many_recommendations_do_not_fit() {
        let lines: Vec<String> = (1..=6).map(|i| format!("rec {i}")).collect();
        let shown: Vec<String> = panel_lines(&lines, 4)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            [
                "rec 1",
                "rec 2",
                "rec 3",
                "… and 3 more (`strata advise` lists them all)"
            ]
        );
        assert_eq!(panel_lines(&lines[..4], 4).len(), 4);
    }

    #[test]
    fn long_names_keep_their_ends_and_a_long_way_down_its_last_steps() {
        let id = "overlay2/0123456789abcdef0123456789abcdef";
        assert_eq!(cut_middle(id, 100), id);
        assert_eq!(cut_middle(id, 16), "overlay2/0…bcdef");
        assert_eq!(cut_middle(id, 16).chars().count(), 16);
        assert_eq!(cut_start("/ a / b / c", 6), "…b / c");
        let (_dir, mut b) = sample();
        b.apply(Action::Open);
        b.apply(Action::Open);
        let s = screen(&mut b);
        assert!(s[1].ends_with("/ image layers / big"), "{}", s[1]);
    }
}
