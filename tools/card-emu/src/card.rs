// SPDX-License-Identifier: LGPL-3.0-only
//! One opcard card on trussed's virtual platform, on its own thread.

use std::{
    fmt, fs, io,
    path::{Path, PathBuf},
    sync::mpsc::{self, Receiver, Sender},
    thread::{self, JoinHandle},
};

use iso7816::{
    Status,
    command::{Command, CommandView, FromSliceError},
};
use trussed::virt::{self, StorageConfig, StoreConfig};

use crate::{
    dispatch::{BACKENDS, Dispatcher},
    seed,
};

/// Largest command (after chaining) and response the card handles. This is
/// the value opcard reports in its extended length information.
pub const MAX_APDU: usize = 7609;

/// The manufacturer id used in the AID: 0xFFFE is the spec's range for
/// test cards ("unmanaged S/N range" in gpg).
pub const TEST_MANUFACTURER: [u8; 2] = [0xFF, 0xFE];

/// Size trussed's virt platform uses for a file-backed littlefs image.
const STORAGE_FILE_LEN: u64 = 512 * 128;

/// How to build an emulated card.
#[derive(Clone, Debug)]
pub struct CardConfig {
    /// Serial number in the AID (so the card's ident is `FFFE:<serial hex>`).
    pub serial: [u8; 4],
    /// Manufacturer id in the AID (default [`TEST_MANUFACTURER`]).
    pub manufacturer: [u8; 2],
    /// Directory for the card's flash (`internal.littlefs`,
    /// `external.littlefs`, 64 KiB each). `None`: RAM only, a fresh card.
    pub state_dir: Option<PathBuf>,
    /// RNG seed. `None`: `OPCARD_EMU_SEED` if set, else random per card.
    pub seed: Option<[u8; 32]>,
}

impl Default for CardConfig {
    fn default() -> Self {
        Self {
            serial: [0, 0, 0, 1],
            manufacturer: TEST_MANUFACTURER,
            state_dir: None,
            seed: None,
        }
    }
}

impl CardConfig {
    /// A RAM card with this serial.
    pub fn with_serial(serial: u32) -> Self {
        Self {
            serial: serial.to_be_bytes(),
            ..Self::default()
        }
    }

    /// The ident openpgp-card reports, e.g. `FFFE:00000001`.
    pub fn ident(&self) -> String {
        format!(
            "{:02X}{:02X}:{:02X}{:02X}{:02X}{:02X}",
            self.manufacturer[0],
            self.manufacturer[1],
            self.serial[0],
            self.serial[1],
            self.serial[2],
            self.serial[3]
        )
    }
}

/// Errors from the emulated card.
#[derive(Debug)]
pub enum CardError {
    /// The state directory or its images are unusable.
    State(PathBuf, String),
    /// The seed could not be chosen (bad `OPCARD_EMU_SEED`, no OS randomness).
    Seed(String),
    /// The card thread could not start or has stopped (it panicked).
    Stopped,
}

impl fmt::Display for CardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::State(path, msg) => write!(f, "card state {}: {msg}", path.display()),
            Self::Seed(msg) => write!(f, "card RNG seed: {msg}"),
            Self::Stopped => write!(f, "the emulated card's thread has stopped"),
        }
    }
}

impl std::error::Error for CardError {}

enum Msg {
    Apdu(Vec<u8>, Sender<Vec<u8>>),
    Reset(Sender<()>),
}

/// A running emulated card. Dropping it stops the card thread.
#[derive(Debug)]
pub struct EmulatedCard {
    tx: Option<Sender<Msg>>,
    thread: Option<JoinHandle<()>>,
    ident: String,
}

impl EmulatedCard {
    /// Starts a card on its own thread and waits until it is ready.
    pub fn start(config: CardConfig) -> Result<Self, CardError> {
        let seed = seed::choose_seed(config.seed).map_err(|e| CardError::Seed(e.to_string()))?;
        let files = match &config.state_dir {
            None => None,
            Some(dir) => Some((
                storage_file(dir, "internal.littlefs")?,
                storage_file(dir, "external.littlefs")?,
            )),
        };
        let mut options = opcard::Options::default();
        options.serial = config.serial;
        options.manufacturer = config.manufacturer;
        let ident = config.ident();

        let (tx, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread = thread::Builder::new()
            .name(format!("opcard {ident}"))
            .spawn(move || run_card(files, seed, options, rx, ready_tx))
            .map_err(|_| CardError::Stopped)?;
        // The thread drops `ready_tx` without sending if it panics while starting.
        if ready_rx.recv().is_err() {
            let _ = thread.join();
            return Err(CardError::Stopped);
        }
        Ok(Self {
            tx: Some(tx),
            thread: Some(thread),
            ident,
        })
    }

    /// The card's ident, `FFFE:<serial>`.
    pub fn ident(&self) -> &str {
        &self.ident
    }

    /// Sends one command APDU and returns the response APDU (data + SW1 SW2).
    pub fn transmit(&self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        let (reply_tx, reply_rx) = mpsc::channel();
        self.sender()?
            .send(Msg::Apdu(apdu.to_vec(), reply_tx))
            .map_err(|_| CardError::Stopped)?;
        reply_rx.recv().map_err(|_| CardError::Stopped)
    }

    /// Power-cycles the card: volatile state such as verified PINs is lost,
    /// keys and PIN counters stay.
    pub fn reset(&self) -> Result<(), CardError> {
        let (ack_tx, ack_rx) = mpsc::channel();
        self.sender()?
            .send(Msg::Reset(ack_tx))
            .map_err(|_| CardError::Stopped)?;
        ack_rx.recv().map_err(|_| CardError::Stopped)
    }

    fn sender(&self) -> Result<&Sender<Msg>, CardError> {
        self.tx.as_ref().ok_or(CardError::Stopped)
    }
}

impl Drop for EmulatedCard {
    fn drop(&mut self) {
        // Closing the channel ends the card loop; then trussed's runner stops.
        self.tx = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Checks (or prepares) a littlefs image file, so that trussed's
/// `StorageConfig::filesystem`, which panics on any problem, does not.
fn storage_file(dir: &Path, name: &str) -> Result<PathBuf, CardError> {
    let err = |path: &Path, e: String| CardError::State(path.to_path_buf(), e);
    fs::create_dir_all(dir).map_err(|e| err(dir, format!("cannot create directory: {e}")))?;
    let path = dir.join(name);
    match fs::metadata(&path) {
        Ok(meta) if meta.len() == STORAGE_FILE_LEN => {
            fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(|e| err(&path, format!("cannot open read-write: {e}")))?;
        }
        Ok(meta) => {
            return Err(err(
                &path,
                format!("is {} bytes, expected {STORAGE_FILE_LEN}", meta.len()),
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(&path, e.to_string())),
    }
    Ok(path)
}

fn run_card(
    files: Option<(PathBuf, PathBuf)>,
    seed: [u8; 32],
    options: opcard::Options,
    rx: Receiver<Msg>,
    ready: Sender<()>,
) {
    // Built here: trussed's storage configs are not `Send`.
    let store = match files {
        None => StoreConfig::ram(),
        Some((internal, external)) => StoreConfig {
            internal: StorageConfig::filesystem(internal),
            external: StorageConfig::filesystem(external),
            volatile: StorageConfig::ram(),
        },
    };
    virt::with_platform(store, |platform| {
        seed::plant_seed(&platform, &seed);
        platform.run_client_with_backends(
            "opcard",
            Dispatcher::new(),
            BACKENDS,
            |client: virt::Client<'_, Dispatcher>| {
                let mut card = opcard::Card::new(client, options);
                let mut layer = ApduLayer::default();
                let _ = ready.send(());
                for msg in rx {
                    match msg {
                        Msg::Apdu(apdu, reply) => {
                            let _ = reply.send(layer.process(&mut card, &apdu));
                        }
                        Msg::Reset(ack) => {
                            card.reset();
                            layer = ApduLayer::default();
                            let _ = ack.send(());
                        }
                    }
                }
            },
        )
    })
}

/// What a card OS's APDU layer does around opcard: command chaining (CLA
/// bit 0x10) and response chaining (`61xx` + GET RESPONSE) for responses
/// longer than the command's Le.
#[derive(Default)]
struct ApduLayer {
    chain: Option<Command<MAX_APDU>>,
    pending: Vec<u8>,
}

const INS_GET_RESPONSE: u8 = 0xC0;

impl ApduLayer {
    fn process<C: opcard::Client>(&mut self, card: &mut opcard::Card<C>, apdu: &[u8]) -> Vec<u8> {
        let view = match CommandView::try_from(apdu) {
            Ok(view) => view,
            Err(err) => {
                self.chain = None;
                return sw(parse_error_status(err));
            }
        };
        if u8::from(view.instruction()) == INS_GET_RESPONSE
            && self.chain.is_none()
            && !self.pending.is_empty()
        {
            let le = expected(view.expected());
            return self.next_chunk(le);
        }
        self.pending.clear();

        if view.class().chain().not_the_last() {
            let extended = match self.chain.as_mut() {
                Some(chain) => chain.extend_from_command_view(view).is_ok(),
                None => match view.to_owned::<MAX_APDU>() {
                    Ok(cmd) => {
                        self.chain = Some(cmd);
                        true
                    }
                    Err(_) => false,
                },
            };
            if !extended {
                self.chain = None;
                return sw(Status::WrongLength);
            }
            return sw(Status::Success);
        }

        let mut reply = heapless::Vec::<u8, MAX_APDU>::new();
        let result = match self.chain.take() {
            Some(mut chain) => {
                if chain.extend_from_command_view(view).is_err() {
                    return sw(Status::WrongLength);
                }
                card.handle(chain.as_view(), reply.as_mut_view())
            }
            None => card.handle(view, reply.as_mut_view()),
        };
        let status = result.err().unwrap_or(Status::Success);
        if status != Status::Success {
            return sw(status);
        }
        self.pending = reply.to_vec();
        self.next_chunk(expected(view.expected()))
    }

    /// Returns up to `le` pending bytes, with `61xx` if more remain.
    fn next_chunk(&mut self, le: usize) -> Vec<u8> {
        let n = le.min(self.pending.len());
        let mut out: Vec<u8> = self.pending.drain(..n).collect();
        match self.pending.len() {
            0 => out.extend_from_slice(&[0x90, 0x00]),
            rest => out.extend_from_slice(&[0x61, rest.min(256) as u8]),
        }
        out
    }
}

/// Le as a byte count; a missing Le (0) is treated as "as much as you have".
fn expected(le: usize) -> usize {
    if le == 0 { usize::MAX } else { le }
}

fn sw(status: Status) -> Vec<u8> {
    let sw: [u8; 2] = status.into();
    sw.to_vec()
}

fn parse_error_status(err: FromSliceError) -> Status {
    match err {
        FromSliceError::InvalidClass => Status::ClassNotSupported,
        FromSliceError::InvalidFirstBodyByteForExtended => Status::UnspecifiedCheckingError,
        _ => Status::WrongLength,
    }
}
