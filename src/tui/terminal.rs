//! The browser on the terminal: raw mode and the alternate screen for as long as it runs
//! (restored on every way out, a panic included: `ratatui::try_init` installs a panic hook
//! that restores the terminal before the message prints), keys turned into [`Action`]s, a
//! frame drawn after each.

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::model::{Action, Browser, Outcome, SortKey};
use super::view;

/// Leaves raw mode and the alternate screen when dropped.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Runs `browser` on the terminal until the user quits.
pub fn run(browser: &mut Browser) -> anyhow::Result<()> {
    let mut terminal = ratatui::try_init()?;
    let _restore = Restore;
    loop {
        terminal.draw(|frame| view::draw(frame, browser))?;
        let Event::Key(key) = event::read()? else {
            continue;
        };
        if key.kind != KeyEventKind::Press {
            continue;
        }
        let Some(action) = action_of(key) else {
            continue;
        };
        if action == Action::Open {
            // Reading a large directory walks it: say so before.
            if let Some(what) = browser.pending_read() {
                browser.message = Some(format!("reading {what}…"));
                terminal.draw(|frame| view::draw(frame, browser))?;
            }
        }
        if browser.apply(action) == Outcome::Quit {
            return Ok(());
        }
    }
}

/// The action of a key (vi keys as ncdu's and dua's), if any.
fn action_of(key: KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return (key.code == KeyCode::Char('c')).then_some(Action::Quit);
    }
    Some(match key.code {
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Home => Action::Home,
        KeyCode::End => Action::End,
        KeyCode::Enter | KeyCode::Right | KeyCode::Char('l') => Action::Open,
        KeyCode::Left | KeyCode::Char('h') | KeyCode::Backspace => Action::Back,
        KeyCode::Char('s') => Action::Sort(SortKey::Size),
        KeyCode::Char('n') => Action::Sort(SortKey::Name),
        KeyCode::Char('c') => Action::Sort(SortKey::Count),
        KeyCode::Char('a') => Action::ToggleMeasure,
        KeyCode::Char('?') => Action::Help,
        KeyCode::Char('q') | KeyCode::Esc => Action::Quit,
        _ => return None,
    })
}
