//! What a cached value costs in memory, in bytes, for moka's weighers: the gateway's caches (and
//! those of `authz` and `acs`) are bounded by the memory they take (settings in MB), not by how many
//! entries they hold, so 100 000 small tenants and 1 000 large ones fit the same budget. An estimate
//! counts a value's inline size, each heap allocation it owns (with the allocator's rounding), and
//! what moka keeps per entry. It is an estimate, never a measurement: shared `Arc`s are counted by the
//! one cache that owns them. (Here because every crate with a cache already depends on `jose`.)

use std::mem::size_of;

/// What moka 0.12 keeps per entry besides the key and the value: the hash-table slot, the access
/// and write-order nodes, the timer node and the entry's own `Arc`. Measured as the growth of the
/// resident set per entry with 200 000 entries of 40 bytes (about 340 bytes each, with a weigher and
/// an expiry).
pub const ENTRY_OVERHEAD: usize = 320;

/// The heap cost of one allocation of `len` bytes: glibc's malloc adds an 8-byte header, rounds to
/// 16 and hands out 32 bytes at least. Nothing is allocated for nothing.
pub const fn alloc(len: usize) -> usize {
    match len {
        0 => 0,
        _ => {
            let rounded = (len + 8).next_multiple_of(16);
            if rounded < 32 { 32 } else { rounded }
        }
    }
}

/// The heap a `String` (or `Box<str>`, `Vec<u8>`) of this text holds.
pub fn text(value: &str) -> usize {
    alloc(value.len())
}

/// The heap a `Vec<T>` of `len` items holds, at its exact capacity.
pub fn items<T>(len: usize) -> usize {
    alloc(len * size_of::<T>())
}

/// The heap of a `BTreeMap<String, String>`: nodes of eleven slots (counted half full on average),
/// and each key's and value's text.
pub fn string_map<'a>(entries: impl ExactSizeIterator<Item = (&'a String, &'a String)>) -> usize {
    let nodes = entries.len().div_ceil(6);
    let node = alloc(11 * 2 * size_of::<String>() + 16);
    nodes * node + entries.map(|(key, value)| text(key) + text(value)).sum::<usize>()
}

/// A moka weight: bytes, saturating (one entry never weighs 4 GiB; if it did, it would not fit).
pub fn to_weight(bytes: usize) -> u32 {
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// A budget in MiB as moka's `max_capacity` in bytes.
pub fn mebibytes(mb: u64) -> u64 {
    mb.saturating_mul(1024 * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_allocation_is_rounded_to_sixteen_bytes_with_a_header_and_never_below_thirty_two() {
        assert_eq!(alloc(0), 0);
        assert_eq!(alloc(1), 32);
        assert_eq!(alloc(24), 32);
        assert_eq!(alloc(25), 48);
        assert_eq!(alloc(1000), 1008);
    }

    #[test]
    fn a_weight_saturates_rather_than_wrapping() {
        assert_eq!(to_weight(7), 7);
        assert_eq!(to_weight(usize::MAX), u32::MAX);
    }

    #[test]
    fn a_map_costs_its_nodes_and_its_texts() {
        let empty = std::collections::BTreeMap::<String, String>::new();
        assert_eq!(string_map(empty.iter()), 0);
        let one: std::collections::BTreeMap<String, String> = [("plan".into(), "premium".into())].into();
        assert_eq!(string_map(one.iter()), alloc(11 * 48 + 16) + 32 + 32);
    }
}
