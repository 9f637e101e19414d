//! Bitstring Status Lists (W3C, 2025): where an issuance's revocation bit lives.
//!
//! An agency hands out status positions in order (0, 1, 2, …). Position `p` is on list
//! `p / LIST_BITS + 1` (lists are numbered from 1, as their URLs are), at an index within it
//! that is `p` scattered by multiplying with an odd constant modulo the list size — a
//! bijection on the list, so no two positions share an index, while neighbouring issuances
//! do not sit on neighbouring bits (the spec asks for indexes that do not reveal order).
//!
//! The bitstring is what the spec defines: index 0 is the left-most (most significant) bit of
//! the first byte.

/// Bits in one list: the spec's minimum (16 KiB), which gives group privacy.
pub const LIST_BITS: u64 = 131_072;

/// Odd, so multiplying by it modulo 2^17 is a bijection.
const SCATTER: u64 = 0x9E37;

/// The list number (from 1) and index of status position `position`.
pub fn slot(position: u64) -> (u64, u64) {
    let list = position / LIST_BITS + 1;
    let index = (position % LIST_BITS).wrapping_mul(SCATTER) % LIST_BITS;
    (list, index)
}

/// A status list's bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitstring {
    bytes: Vec<u8>,
}

impl Default for Bitstring {
    fn default() -> Self {
        Bitstring::new()
    }
}

impl Bitstring {
    /// A list of [`LIST_BITS`] bits, all clear.
    pub fn new() -> Bitstring {
        Bitstring {
            bytes: vec![0; (LIST_BITS / 8) as usize],
        }
    }

    /// Reads bytes as published (after decompression); `None` when shorter than a list.
    pub fn from_bytes(bytes: Vec<u8>) -> Option<Bitstring> {
        (bytes.len() as u64 * 8 >= LIST_BITS).then_some(Bitstring { bytes })
    }

    /// Sets bit `index`; indexes beyond the list are ignored (they cannot be assigned).
    pub fn set(&mut self, index: u64) {
        if let Some(byte) = self.bytes.get_mut((index / 8) as usize) {
            *byte |= 0x80 >> (index % 8);
        }
    }

    /// Whether bit `index` is set; `None` beyond the list.
    pub fn get(&self, index: u64) -> Option<bool> {
        self.bytes
            .get((index / 8) as usize)
            .map(|byte| byte & (0x80 >> (index % 8)) != 0)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_first_positions_fill_list_one_then_list_two() {
        assert_eq!(slot(0), (1, 0));
        assert_eq!(slot(1).0, 1);
        assert_ne!(slot(1).1, 1, "neighbours are scattered");
        assert_eq!(slot(LIST_BITS - 1).0, 1);
        assert_eq!(slot(LIST_BITS), (2, 0));
    }

    #[test]
    fn index_zero_is_the_left_most_bit() {
        let mut bits = Bitstring::new();
        bits.set(0);
        bits.set(9);
        assert_eq!(bits.as_bytes()[0], 0b1000_0000);
        assert_eq!(bits.as_bytes()[1], 0b0100_0000);
        assert_eq!(bits.get(9), Some(true));
        assert_eq!(bits.get(8), Some(false));
        assert_eq!(bits.get(LIST_BITS), None);
        assert_eq!(bits.as_bytes().len(), 16_384);
    }

    #[test]
    fn every_index_of_a_list_is_used_once() {
        let mut seen = vec![false; LIST_BITS as usize];
        for p in 0..LIST_BITS {
            let (list, index) = slot(p);
            assert_eq!(list, 1);
            assert!(!seen[index as usize], "index {index} twice");
            seen[index as usize] = true;
        }
    }

    proptest! {
        #[test]
        fn a_slot_is_always_within_its_list(p in 0u64..u64::MAX / 2) {
            let (list, index) = slot(p);
            prop_assert!(index < LIST_BITS);
            prop_assert_eq!(list, p / LIST_BITS + 1);
        }

        #[test]
        fn set_bits_read_back_and_nothing_else_changes(indexes in proptest::collection::vec(0u64..LIST_BITS, 0..50), probe in 0u64..LIST_BITS) {
            let mut bits = Bitstring::new();
            for i in &indexes {
                bits.set(*i);
            }
            prop_assert_eq!(bits.get(probe), Some(indexes.contains(&probe)));
        }
    }
}
