// SPDX-License-Identifier: LGPL-3.0-only
//! Exposes an [`EmulatedCard`] to pcscd through vsmartcard's vpcd reader
//! driver, with the `vpicc` crate (the card is a TCP client of vpcd).

use std::{
    cell::RefCell,
    fmt, io,
    net::{SocketAddr, TcpStream, ToSocketAddrs},
    path::PathBuf,
    time::Duration,
};

use crate::card::EmulatedCard;

/// Default vpcd address (vpcd's first reader, "Virtual PCD 00 00").
pub const DEFAULT_ADDR: &str = "127.0.0.1:35963";

/// opcard's historical bytes (its default `Options`), used in the ATR.
const HISTORICAL_BYTES: [u8; 10] = [0x00, 0x31, 0xF5, 0x73, 0xC0, 0x01, 0x60, 0x00, 0x90, 0x00];

/// ATR: `3B 8A 80 01` (T=1, 10 historical bytes), the historical bytes,
/// and the check byte TCK (XOR of T0..the last historical byte).
pub fn atr() -> Vec<u8> {
    let mut atr = vec![0x3B, 0x80 | HISTORICAL_BYTES.len() as u8, 0x80, 0x01];
    atr.extend_from_slice(&HISTORICAL_BYTES);
    let tck = atr[1..].iter().fold(0, |acc, b| acc ^ b);
    atr.push(tck);
    atr
}

/// Errors of a vpcd session.
#[derive(Debug)]
pub enum VpcdError {
    /// The address does not resolve.
    BadAddr(String, io::Error),
    /// vpcd does not accept connections (pcscd not running, or no vpcd driver).
    Connect(String, io::Error),
    /// The connection to vpcd broke (pcscd stopped).
    Lost(String, io::Error),
}

impl fmt::Display for VpcdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadAddr(addr, e) => write!(f, "bad vpcd address {addr}: {e}"),
            Self::Connect(addr, e) => write!(
                f,
                "cannot reach vpcd at {addr}: is pcscd running with vsmartcard-vpcd? ({e})"
            ),
            Self::Lost(addr, e) => {
                write!(
                    f,
                    "lost the connection to vpcd at {addr} (pcscd stopped?): {e}"
                )
            }
        }
    }
}

impl std::error::Error for VpcdError {}

/// The `vpicc::VSmartCard` adapter.
struct VpiccCard<'a> {
    card: &'a EmulatedCard,
    atr: Vec<u8>,
    ready_file: RefCell<Option<PathBuf>>,
    powered: bool,
}

impl VpiccCard<'_> {
    /// When pcscd sees a card in the reader it powers it up and reads its
    /// ATR; from then on the card is visible to PC/SC clients.
    fn mark_ready(&self) {
        if let Some(path) = self.ready_file.borrow_mut().take()
            && let Err(e) = std::fs::write(&path, format!("{}\n", self.card.ident()))
        {
            eprintln!(
                "breakglass-card-emu: cannot write ready file {}: {e}",
                path.display()
            );
        }
    }
}

impl vpicc::VSmartCard for VpiccCard<'_> {
    fn atr(&self) -> &[u8] {
        if self.powered {
            self.mark_ready();
        }
        &self.atr
    }

    fn power_on(&mut self) {
        let _ = self.card.reset();
        self.powered = true;
    }

    fn power_off(&mut self) {
        let _ = self.card.reset();
        self.powered = false;
    }

    fn reset(&mut self) {
        let _ = self.card.reset();
    }

    fn execute(&mut self, msg: &[u8]) -> Vec<u8> {
        // 6F00: "no precise diagnosis", if the card thread died.
        self.card.transmit(msg).unwrap_or_else(|_| vec![0x6F, 0x00])
    }
}

/// Connects `card` to vpcd at `addr` and serves it until the connection
/// ends. If `ready_file` is given, it is written (with the card's ident)
/// once pcscd has powered the card up.
pub fn serve(
    card: &EmulatedCard,
    addr: &str,
    ready_file: Option<PathBuf>,
) -> Result<(), VpcdError> {
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| VpcdError::BadAddr(addr.to_string(), e))?
        .collect();
    let mut last_err = io::Error::new(io::ErrorKind::NotFound, "no address");
    let mut stream = None;
    for sa in &addrs {
        match TcpStream::connect_timeout(sa, Duration::from_secs(5)) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_err = e,
        }
    }
    let stream = stream.ok_or_else(|| VpcdError::Connect(addr.to_string(), last_err))?;
    let _ = stream.set_nodelay(true);
    let mut connection = vpicc::Connection::from(stream);
    let mut vcard = VpiccCard {
        card,
        atr: atr(),
        ready_file: RefCell::new(ready_file),
        powered: false,
    };
    loop {
        if let Err(e) = connection.poll(&mut vcard) {
            return Err(VpcdError::Lost(addr.to_string(), e));
        }
    }
}
