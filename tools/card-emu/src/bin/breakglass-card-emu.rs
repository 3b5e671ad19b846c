// SPDX-License-Identifier: LGPL-3.0-only
//! `breakglass-card-emu`: one emulated OpenPGP card, connected to pcscd
//! through vsmartcard's vpcd driver. Test support only.

use std::{path::PathBuf, process::ExitCode};

use breakglass_card_emu::{CardConfig, EmulatedCard, vpcd};

const USAGE: &str = "usage: breakglass-card-emu [--serial HEX8] [--addr HOST:PORT] [--state DIR] [--ready-file PATH]

Runs one emulated OpenPGP card (opcard, spec 3.4) and connects it to vpcd.
  --serial HEX8      card serial, 8 hex digits (default 00000001; ident FFFE:<serial>)
  --addr HOST:PORT   vpcd address (default 127.0.0.1:35963; 35964 is vpcd's second reader)
  --state DIR        keep the card's flash in DIR (default: RAM, a fresh card)
  --ready-file PATH  write PATH once pcscd has powered the card up (it is then visible)
Environment: OPCARD_EMU_SEED=<64 hex> fixes the card's RNG seed (default: random).
Exit codes: 0 help, 1 card failed to start, 2 usage, 3 vpcd unreachable, 4 vpcd connection lost.";

struct Args {
    config: CardConfig,
    addr: String,
    ready_file: Option<PathBuf>,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut config = CardConfig::default();
    let mut addr = vpcd::DEFAULT_ADDR.to_string();
    let mut ready_file = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--serial" => config.serial = parse_serial(&value()?)?,
            "--addr" => addr = value()?,
            "--state" => config.state_dir = Some(PathBuf::from(value()?)),
            "--ready-file" => ready_file = Some(PathBuf::from(value()?)),
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Ok(Some(Args {
        config,
        addr,
        ready_file,
    }))
}

fn parse_serial(s: &str) -> Result<[u8; 4], String> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("--serial must be 8 hex digits, got {s:?}"));
    }
    u32::from_str_radix(s, 16)
        .map(u32::to_be_bytes)
        .map_err(|e| format!("--serial {s:?}: {e}"))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("breakglass-card-emu: {msg} (see --help)");
            return ExitCode::from(2);
        }
    };
    if let Some(path) = &args.ready_file {
        let _ = std::fs::remove_file(path);
    }
    let card = match EmulatedCard::start(args.config) {
        Ok(card) => card,
        Err(e) => {
            eprintln!("breakglass-card-emu: cannot start the card: {e}");
            return ExitCode::from(1);
        }
    };
    eprintln!(
        "breakglass-card-emu: card {} connecting to vpcd at {}",
        card.ident(),
        args.addr
    );
    let err = match vpcd::serve(&card, &args.addr, args.ready_file) {
        Ok(()) => return ExitCode::SUCCESS,
        Err(e) => e,
    };
    eprintln!("breakglass-card-emu: {err}");
    match err {
        vpcd::VpcdError::BadAddr(..) => ExitCode::from(2),
        vpcd::VpcdError::Connect(..) => ExitCode::from(3),
        vpcd::VpcdError::Lost(..) => ExitCode::from(4),
    }
}
