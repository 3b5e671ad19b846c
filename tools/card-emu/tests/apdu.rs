// SPDX-License-Identifier: LGPL-3.0-only
//! The APDU layer around opcard: command chaining and `61xx` + GET RESPONSE.

use breakglass_card_emu::{CardConfig, EmulatedCard};

const SELECT_OPENPGP: &[u8] = &[
    0x00, 0xA4, 0x04, 0x00, 0x06, 0xD2, 0x76, 0x00, 0x01, 0x24, 0x01, 0x00,
];

fn card() -> EmulatedCard {
    let card = EmulatedCard::start(CardConfig::default()).unwrap();
    assert_eq!(card.transmit(SELECT_OPENPGP).unwrap(), [0x90, 0x00]);
    card
}

fn split_sw(resp: &[u8]) -> (&[u8], [u8; 2]) {
    let (data, sw) = resp.split_at(resp.len() - 2);
    (data, [sw[0], sw[1]])
}

#[test]
fn short_le_gives_61xx_and_get_response_returns_the_rest() {
    let card = card();
    // GET DATA algorithm information (FA), extended Le: everything at once.
    let full = card
        .transmit(&[0x00, 0xCA, 0x00, 0xFA, 0x00, 0x00, 0x00])
        .unwrap();
    let (full, sw) = split_sw(&full);
    assert_eq!(sw, [0x90, 0x00]);
    assert!(
        full.len() > 256,
        "algorithm information is {} bytes",
        full.len()
    );

    // Short Le (00 = 256): chunks of 256 with 61xx, then GET RESPONSE.
    let mut got = Vec::new();
    let mut resp = card.transmit(&[0x00, 0xCA, 0x00, 0xFA, 0x00]).unwrap();
    loop {
        let (data, sw) = split_sw(&resp);
        got.extend_from_slice(data);
        match sw {
            [0x90, 0x00] => break,
            [0x61, n] => {
                assert_eq!(data.len(), 256);
                resp = card.transmit(&[0x00, 0xC0, 0x00, 0x00, n]).unwrap();
            }
            other => panic!("unexpected SW {other:02X?}"),
        }
    }
    assert_eq!(got, full);
}

#[test]
fn chained_command_is_reassembled() {
    let card = card();
    // VERIFY PW1/82 "123456" sent in two chained parts (CLA 0x10, then 0x00).
    assert_eq!(
        card.transmit(&[0x10, 0x20, 0x00, 0x82, 0x03, b'1', b'2', b'3'])
            .unwrap(),
        [0x90, 0x00]
    );
    assert_eq!(
        card.transmit(&[0x00, 0x20, 0x00, 0x82, 0x03, b'4', b'5', b'6'])
            .unwrap(),
        [0x90, 0x00]
    );
    // VERIFY without data: 9000 if PW1/82 is verified.
    assert_eq!(
        card.transmit(&[0x00, 0x20, 0x00, 0x82]).unwrap(),
        [0x90, 0x00]
    );
    // After a reset (power cycle) it is not.
    card.reset().unwrap();
    card.transmit(SELECT_OPENPGP).unwrap();
    let (_, sw) = split_sw(&card.transmit(&[0x00, 0x20, 0x00, 0x82]).unwrap()).to_owned();
    assert_eq!(sw[0], 0x63, "not verified: 63Cx, got {sw:02X?}");
}

#[test]
fn garbage_apdu_gets_an_error_status() {
    let card = card();
    let resp = card.transmit(&[0x00, 0xCA]).unwrap();
    assert_eq!(resp.len(), 2);
    assert_ne!(resp, [0x90, 0x00]);
}
