// SPDX-License-Identifier: LGPL-3.0-only
//! An in-process `card_backend::CardBackend` that talks to an
//! [`EmulatedCard`] directly: no pcscd, no vpcd, no sockets.

use std::sync::Arc;

use card_backend::{CardBackend, CardCaps, CardTransaction, PinType, SmartcardError};

use crate::card::{CardConfig, CardError, EmulatedCard};

/// A `CardBackend` for one emulated card.
///
/// `openpgp_card::Card::new(backend)` works with it like with a PC/SC
/// backend. The card lives as long as its last backend (or the
/// [`EmulatedCard`] handle it came from).
#[derive(Clone, Debug)]
pub struct InProcBackend {
    card: Arc<EmulatedCard>,
}

impl InProcBackend {
    /// A fresh RAM card with serial 00000001 (ident `FFFE:00000001`) and a
    /// random RNG seed (or `OPCARD_EMU_SEED`).
    pub fn new() -> Result<Self, CardError> {
        Self::with_config(CardConfig::default())
    }

    /// A fresh card built from `config`.
    pub fn with_config(config: CardConfig) -> Result<Self, CardError> {
        Ok(Self::from_card(Arc::new(EmulatedCard::start(config)?)))
    }

    /// A backend for an already running card. Each call is like a new
    /// PC/SC connection: the card is reset first, so verified PINs do
    /// not carry over.
    pub fn connect(card: &Arc<EmulatedCard>) -> Result<Self, CardError> {
        card.reset()?;
        Ok(Self::from_card(Arc::clone(card)))
    }

    fn from_card(card: Arc<EmulatedCard>) -> Self {
        Self { card }
    }

    /// The card behind this backend.
    pub fn card(&self) -> &Arc<EmulatedCard> {
        &self.card
    }
}

/// A fresh emulated card behind an in-process backend (see
/// [`InProcBackend::new`]). Panics if the card cannot start; meant for tests.
pub fn fresh_card() -> InProcBackend {
    InProcBackend::new().expect("cannot start the emulated OpenPGP card")
}

impl From<InProcBackend> for Box<dyn CardBackend + Send + Sync> {
    fn from(backend: InProcBackend) -> Self {
        Box::new(backend)
    }
}

impl CardBackend for InProcBackend {
    fn limit_card_caps(&self, card_caps: CardCaps) -> CardCaps {
        card_caps
    }

    fn transaction(
        &mut self,
        _reselect_application: Option<&[u8]>,
    ) -> Result<Box<dyn CardTransaction + Send + Sync + '_>, SmartcardError> {
        // Nobody else can reset or select on this card, so the
        // application stays selected and there is nothing to reselect.
        Ok(Box::new(InProcTransaction { card: &self.card }))
    }
}

/// A transaction on an [`InProcBackend`]. Every APDU is executed at once;
/// the card is exclusive to its backend anyway.
struct InProcTransaction<'a> {
    card: &'a EmulatedCard,
}

impl CardTransaction for InProcTransaction<'_> {
    fn transmit(&mut self, cmd: &[u8], _buf_size: usize) -> Result<Vec<u8>, SmartcardError> {
        self.card
            .transmit(cmd)
            .map_err(|e| SmartcardError::Error(e.to_string()))
    }

    fn feature_pinpad_verify(&self) -> bool {
        false
    }

    fn feature_pinpad_modify(&self) -> bool {
        false
    }

    fn pinpad_verify(
        &mut self,
        _pin: PinType,
        _card_caps: &Option<CardCaps>,
    ) -> Result<Vec<u8>, SmartcardError> {
        no_pinpad()
    }

    fn pinpad_modify(
        &mut self,
        _pin: PinType,
        _card_caps: &Option<CardCaps>,
    ) -> Result<Vec<u8>, SmartcardError> {
        no_pinpad()
    }

    fn was_reset(&self) -> bool {
        false
    }
}

/// What both pinpad operations answer: the emulated card has none (and
/// `feature_pinpad_*` say so, so openpgp-card never asks).
fn no_pinpad() -> Result<Vec<u8>, SmartcardError> {
    Err(SmartcardError::Error(
        "the emulated card has no pinpad".into(),
    ))
}
