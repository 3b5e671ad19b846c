//! Drawing the whole console: the title line, the current screen, the demo
//! passphrases, the message, the key bar of each screen and step, the `?`
//! help, and "Terminal too small". The screens draw their own bodies.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::{App, MIN_HEIGHT, MIN_WIDTH, Screen};
use crate::tui::ceremony::Step as CeremonyStep;
use crate::tui::release::{ATTEMPTS, Step};
use crate::tui::reveal::RevealScreen;
use crate::tui::widgets::{centered, key_bar, width, wrap};

/// `s` cut from the left to `max` columns, starting with "…" when cut.
fn tail(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let mut out: Vec<char> = Vec::new();
    for c in s.chars().rev() {
        if out.len() + 2 > max {
            break;
        }
        out.push(c);
    }
    std::iter::once('…').chain(out.into_iter().rev()).collect()
}

impl App {
    fn spinner(&self) -> &'static str {
        const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
        FRAMES[(self.ticks % 10) as usize]
    }

    /// Draws the whole console.
    pub fn render(&self, f: &mut Frame<'_>) {
        let area = f.area();
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            let mut lines = vec![
                Line::from(Span::styled("Terminal too small", self.theme.error())),
                Line::from(format!(
                    "breakglass needs {MIN_WIDTH}×{MIN_HEIGHT}; this one is {}×{}.",
                    area.width, area.height
                )),
                Line::from("Enlarge the window, or press q to quit."),
                Line::from("Other keys do nothing until then."),
            ];
            if matches!(self.screen, Screen::Reveal(_)) {
                // Nothing of the item is drawn here; its countdown runs on.
                lines.push(Line::from(
                    "A released item is waiting to be shown; it clears itself when its time is up.",
                ));
            }
            // What is running behind this screen, and its clock.
            let now = self.vault.clock_now();
            let left = |expires: i64| {
                let s = (expires - now).max(0);
                format!("{}:{:02}", s / 60, s % 60)
            };
            let running = match &self.screen {
                Screen::Release(r) => r.request.as_ref().map(|q| {
                    format!(
                        "A release of {} is in progress: {} of {} approvals; it expires in {}.",
                        q.secret(),
                        q.approved_by().len(),
                        q.needed(),
                        left(q.expires())
                    )
                }),
                Screen::Ceremony(c) => c.request.as_ref().map(|q| {
                    format!(
                        "A ceremony is in progress: {} of {} approvals; it expires in {}.",
                        q.approved_by().len(),
                        q.needed(),
                        left(q.expires())
                    )
                }),
                _ => None,
            };
            if let Some(r) = running {
                lines.push(Line::from(Span::styled(r, self.theme.warn())));
            }
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), area);
            return;
        }
        if let Screen::Reveal(r) = &self.screen {
            let elapsed = (self.vault.clock_now() - r.opened).max(0) as u64;
            RevealScreen::new(&r.released, self.reveal_secs as u64)
                .spelled(r.spelled)
                .in_console()
                .render(f, area, elapsed);
            return;
        }
        // A read-only console's banner wraps (two lines at most).
        let banner: Option<Vec<String>> = self
            .read_only_banner()
            .map(|b| wrap(&b, area.width as usize).into_iter().take(2).collect());
        let demo_height = if let Some(b) = &banner {
            b.len() as u16
        } else if self.demo.is_empty() || !matches!(self.screen, Screen::Home) {
            0
        } else {
            1
        };
        // The message wraps (up to three lines) rather than being cut.
        let message: Vec<String> = self
            .message
            .as_ref()
            .map(|(_, m)| wrap(m, area.width as usize))
            .unwrap_or_default();
        let msg_height = (message.len() as u16).clamp(1, 3);
        let [title, body, demo, msg, keys] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(10),
            Constraint::Length(demo_height),
            Constraint::Length(msg_height),
            Constraint::Length(1),
        ])
        .areas(area);
        let screen_name = match &self.screen {
            Screen::Home => "home",
            Screen::Release(_) => "release",
            Screen::Deposit(d) if d.is_rotation() => "rotate",
            Screen::Deposit(d) if d.is_canary() => "drill",
            Screen::Deposit(_) => "deposit",
            Screen::Ledger(_) => "ledger",
            Screen::Officers(_) => "officers",
            Screen::Ceremony(_) => "ceremony",
            Screen::Review(_) => "review",
            Screen::Reveal(_) => "reveal",
            Screen::Drill(_) => "drill",
        };
        let head = if self.read_only.is_some() {
            format!("· {screen_name} · read-only · ")
        } else {
            format!("· {screen_name} · ")
        };
        let room = (area.width as usize).saturating_sub(width(&head) + 12);
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(" breakglass ", self.theme.accent()),
                Span::styled(
                    format!(
                        "{head}{}",
                        tail(&self.vault.path().display().to_string(), room)
                    ),
                    self.theme.dim(),
                ),
            ])),
            title,
        );
        let verified = self.verification_line();
        match &self.screen {
            Screen::Home => self
                .home
                .render(f, body, &self.status, &verified, &self.theme),
            Screen::Release(r) => r.render(f, body, self.vault.now(), self.spinner(), &self.theme),
            Screen::Deposit(d) => d.render(f, body, self.spinner(), &self.theme),
            Screen::Ledger(l) => l.render(f, body, &verified, &self.theme),
            Screen::Officers(o) => o.render(f, body, self.vault.now(), self.spinner(), &self.theme),
            Screen::Ceremony(c) => c.render(f, body, self.vault.now(), self.spinner(), &self.theme),
            Screen::Review(r) => r.render(f, body, self.spinner(), &self.theme),
            Screen::Drill(_) => {
                let lines = self.drill_check_lines().unwrap_or_default();
                f.render_widget(
                    Paragraph::new(
                        lines
                            .into_iter()
                            .map(|l| Line::from(Span::styled(l, self.theme.warn())))
                            .collect::<Vec<_>>(),
                    )
                    .wrap(Wrap { trim: true })
                    .block(
                        Block::default()
                            .borders(Borders::ALL)
                            .title(Span::styled(" End-to-end drill ", self.theme.accent())),
                    ),
                    body,
                );
            }
            Screen::Reveal(_) => {}
        }
        if let Some(b) = banner {
            f.render_widget(
                Paragraph::new(
                    b.into_iter()
                        .map(|l| Line::from(Span::styled(l, self.theme.warn())))
                        .collect::<Vec<_>>(),
                ),
                demo,
            );
        } else if demo_height > 0 {
            let text = self
                .demo
                .iter()
                .map(|(n, p)| format!("{n}: {p}"))
                .collect::<Vec<_>>()
                .join("   ");
            f.render_widget(
                Paragraph::new(Line::from(vec![
                    Span::styled("Demo passphrases  ", self.theme.warn()),
                    Span::raw(text),
                ])),
                demo,
            );
        }
        if let Some((error, _)) = &self.message {
            let style = if *error {
                self.theme.error()
            } else {
                self.theme.ok()
            };
            f.render_widget(
                Paragraph::new(
                    message
                        .into_iter()
                        .map(|l| Line::from(Span::styled(l, style)))
                        .collect::<Vec<_>>(),
                ),
                msg,
            );
        }
        let prompted = match &self.screen {
            Screen::Ledger(l) => l.render_prompt(f, keys, &self.theme),
            _ => false,
        };
        if !prompted {
            key_bar(f, keys, self.keys(), &self.theme);
        }
        if self.help {
            self.render_help(f, area);
        }
    }

    fn keys(&self) -> &'static [(&'static str, &'static str)] {
        if self.read_only.is_some() {
            match &self.screen {
                Screen::Home => {
                    return &[
                        ("↑↓", "select"),
                        ("l", "ledger"),
                        ("o", "officers"),
                        ("?", "help"),
                        ("q", "quit"),
                    ];
                }
                Screen::Officers(_) => return &[("↑↓", "select"), ("?", "help"), ("Esc", "back")],
                _ => {}
            }
        }
        match &self.screen {
            Screen::Home
                if self
                    .status
                    .due
                    .iter()
                    .any(|d| d.what == crate::lifecycle::What::Review) =>
            {
                &[
                    ("↑↓", "select"),
                    ("r", "release"),
                    ("v", "review"),
                    ("d", "deposit"),
                    ("l", "ledger"),
                    ("o", "officers"),
                    ("?", "help"),
                    ("q", "quit"),
                ]
            }
            Screen::Home => &[
                ("↑↓", "select"),
                ("r/Enter", "release"),
                ("d", "deposit"),
                ("l", "ledger"),
                ("o", "officers"),
                ("?", "help"),
                ("q", "quit"),
            ],
            Screen::Release(r) if r.confirming_cancel() => &[
                ("y", "discard the approvals and cancel"),
                ("any other key", "keep collecting"),
            ],
            Screen::Release(r) => match r.step {
                Step::Pick => &[("↑↓", "select"), ("Enter", "choose"), ("Esc", "back")],
                Step::Reason => &[("Enter", "continue"), ("Esc", "back")],
                Step::Approvers => &[
                    ("↑↓", "officer"),
                    ("Enter", "sign"),
                    ("Esc", "cancel release"),
                    ("?", "help"),
                ],
                Step::Passphrase(_) => &[("Enter", "sign"), ("Esc", "other officer")],
                Step::Unlocking(_) => &[("Esc", "cancel release")],
            },
            Screen::Review(_) => &[("Enter", "continue"), ("↑↓", "choose"), ("Esc", "back")],
            Screen::Deposit(d) => d.keys(),
            Screen::Ledger(_) => &[
                ("↑↓", "scroll"),
                ("f", "kind"),
                ("s", "secret"),
                ("o", "officer"),
                ("c", "clear"),
                ("e", "export"),
                ("v", "verify"),
                ("q", "back"),
            ],
            Screen::Officers(o) if o.is_drilling() => &[],
            Screen::Officers(o) if o.is_editing() => &[("Enter", "continue"), ("Esc", "cancel")],
            // No "↑↓ select": with `e` it would push "Esc back" off an
            // 80-column bar, and the rows show what the arrows do.
            Screen::Officers(_) => &[
                ("d", "drill"),
                ("e", "end-to-end"),
                ("a", "add"),
                ("x", "remove"),
                ("t", "threshold"),
                ("k", "rekey"),
                ("?", "help"),
                ("Esc", "back"),
            ],
            Screen::Ceremony(c) if c.confirming_cancel() => &[
                ("y", "discard the approvals and cancel"),
                ("any other key", "keep collecting"),
            ],
            Screen::Ceremony(c) => match c.step {
                CeremonyStep::Review => &[
                    ("Enter", "begin signing"),
                    ("Esc", "cancel ceremony"),
                    ("?", "help"),
                ],
                CeremonyStep::Approvers => &[
                    ("↑↓", "officer"),
                    ("Enter", "sign"),
                    ("Esc", "cancel ceremony"),
                    ("?", "help"),
                ],
                CeremonyStep::Passphrase(_) => &[("Enter", "sign"), ("Esc", "other officer")],
                CeremonyStep::Unlocking(_) => &[("Esc", "cancel ceremony")],
                CeremonyStep::NewPassphrase(..) => {
                    &[("Enter", "continue"), ("Esc", "cancel ceremony")]
                }
                CeremonyStep::Completing(_) => &[],
            },
            Screen::Reveal(_) | Screen::Drill(_) => &[],
        }
    }

    fn render_help(&self, f: &mut Frame<'_>, area: Rect) {
        let text = vec![
            Line::from(Span::styled("breakglass console", self.theme.accent())),
            Line::from(""),
            Line::from("Home      ↑↓ select · r/Enter release · d deposit · l ledger · o officers"),
            Line::from(
                "          v review a release · r on a released credential's row rotates it",
            ),
            Line::from("Release   choose a secret, type the reason; then each officer picks their"),
            Line::from("          name, reads the exact statement they sign and types their"),
            Line::from(format!(
                "          passphrase (hidden; {ATTEMPTS} attempts). Esc asks before approvals"
            )),
            Line::from("          are discarded. At the quorum the item is logged, then shown"),
            Line::from("          once: Enter confirms you saw it, Esc clears it unconfirmed,"),
            Line::from(format!(
                "          p reads it aloud (NATO); it clears itself after {} s.",
                self.reveal_secs
            )),
            Line::from("Deposit   one officer; name the secret (Tab: codes/credential), paste the"),
            Line::from("          codes one per line (hidden), confirm the count."),
            Line::from("Ledger    ↑↓ PgUp PgDn scroll · J/K scroll the entry · f pick a kind ·"),
            Line::from("          s secret · o officer · c clear filters · e export · v verify"),
            Line::from("Officers  last drills, shares waiting · d drill · e end-to-end drill ·"),
            Line::from(
                "          a add · x remove · t threshold · k rekey: a ceremony shows current",
            ),
            Line::from(
                "          and proposed side by side, then collects approvals as a release.",
            ),
            Line::from(""),
            Line::from("q quits from home. Ctrl-C quits from anywhere: a release or ceremony in"),
            Line::from("progress is cancelled; on the reveal, the item is cleared unconfirmed and"),
            Line::from("the exit status says so."),
            Line::from(Span::styled(
                "Any key closes this help. q and Esc then act as usual (q quits from home).",
                self.theme.dim(),
            )),
        ];
        let popup = centered(area, 78, text.len() as u16 + 2);
        f.render_widget(Clear, popup);
        f.render_widget(
            Paragraph::new(text).block(Block::default().borders(Borders::ALL).title(" Help ")),
            popup,
        );
    }
}
