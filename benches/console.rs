//! The console on a large vault: what an officer waits for. Figures and
//! how to run them: `docs/PERFORMANCE.md` ("Scale") and
//! `scripts/bench-table`.
//!
//! - `console/first_frame/<size>`: `Vault::open`, `App::new` and the first
//!   80×24 frame, what a responder waits for after typing `breakglass`
//!   (the ledger's background verification starts after it).
//! - `console/ledger_open/<size>`: `l` on the home screen and the ledger
//!   view's first frame.
//! - `console/ledger_scroll/<size>`: one PageUp in the ledger view and the
//!   frame after it, ten rows never read before each time.
//! - `console/status_kept/<size>` and `console/status_reopened/<size>`:
//!   `Vault::status` with the database open, and the same after the console
//!   let go of it when idle (`Vault::suspend`): the difference is what
//!   sharing the vault with readers costs the console's next operation.
//!
//! Sizes are 10^3 and 10^6 entries (10^3 and 2·10^3 in criterion's test
//! mode or with `BREAKGLASS_BENCH_QUICK=1`), the cached fixtures of
//! `common/fixture.rs`, on a working copy.

mod common;

use common::fixture;
use common::{quick, selected};

use std::time::{Duration, Instant};

use breakglass::Vault;
use breakglass::tui::App;
use breakglass::tui::theme::Theme;
use criterion::Criterion;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn sizes() -> [u64; 2] {
    if quick() {
        [1_000, 2_000]
    } else {
        [1_000, 1_000_000]
    }
}

/// sled finishes closing a dropped database on its own threads; the next
/// open waits for that, which no user ever sees (they take longer than
/// this between two commands), so the benchmarks wait untimed.
const SETTLE: Duration = Duration::from_millis(50);

fn key(app: &mut App, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn frame(app: &App, term: &mut Terminal<TestBackend>) {
    term.draw(|f| app.render(f)).expect("draw");
}

fn console(dir: &std::path::Path) -> (App, Terminal<TestBackend>) {
    let vault = Vault::open(dir).expect("open the fixture");
    let mut app = App::new(vault, Theme::new(false), Vec::new()).expect("console");
    app.on_resize(80, 24);
    (
        app,
        Terminal::new(TestBackend::new(80, 24)).expect("terminal"),
    )
}

fn bench_size(c: &mut Criterion, entries: u64) {
    let fx = fixture::vault(entries);
    let dir = fixture::working_copy(&fx);
    let label = fixture::label(entries);
    let mut g = c.benchmark_group("console");
    g.sample_size(20);

    let id = format!("first_frame/{label}");
    if selected(&format!("console/{id}")) {
        g.bench_function(&id, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    std::thread::sleep(SETTLE);
                    let t = Instant::now();
                    let (app, mut term) = console(&dir);
                    frame(&app, &mut term);
                    total += t.elapsed();
                }
                total
            })
        });
    }

    let id = format!("ledger_open/{label}");
    if selected(&format!("console/{id}")) {
        std::thread::sleep(SETTLE);
        let (mut app, mut term) = console(&dir);
        g.bench_function(&id, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t = Instant::now();
                    key(&mut app, KeyCode::Char('l'));
                    frame(&app, &mut term);
                    total += t.elapsed();
                    key(&mut app, KeyCode::Esc);
                }
                total
            })
        });
    }

    let id = format!("ledger_scroll/{label}");
    if selected(&format!("console/{id}")) {
        std::thread::sleep(SETTLE);
        let (mut app, mut term) = console(&dir);
        key(&mut app, KeyCode::Char('l'));
        frame(&app, &mut term);
        // PageUp moves ten rows; start again from the end before the top.
        let pages = (entries / 10).saturating_sub(5);
        let mut paged = 0u64;
        g.bench_function(&id, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    if paged == pages {
                        key(&mut app, KeyCode::End);
                        frame(&app, &mut term);
                        paged = 0;
                    }
                    let t = Instant::now();
                    key(&mut app, KeyCode::PageUp);
                    frame(&app, &mut term);
                    total += t.elapsed();
                    paged += 1;
                }
                total
            })
        });
    }

    let kept = format!("status_kept/{label}");
    let reopened = format!("status_reopened/{label}");
    if selected(&format!("console/{kept}")) || selected(&format!("console/{reopened}")) {
        std::thread::sleep(SETTLE);
        let vault = Vault::open(&dir).expect("open the fixture");
        g.bench_function(&kept, |b| b.iter(|| vault.status().expect("status")));
        g.bench_function(&reopened, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    vault.suspend();
                    std::thread::sleep(SETTLE);
                    vault.resume();
                    let t = Instant::now();
                    vault.status().expect("status");
                    total += t.elapsed();
                }
                total
            })
        });
    }
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    for entries in sizes() {
        bench_size(&mut c, entries);
    }
    c.final_summary();
}
