//! A small stable 64-bit hash (FNV-1a) for cache keys, parameter hashes and
//! sharding. Stable across platforms and releases, unlike `std`'s hasher.

/// Streaming FNV-1a (64-bit).
#[derive(Debug, Clone, Copy)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf29ce484222325)
    }
}

impl Fnv64 {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, bytes: &[u8]) -> &mut Self {
        for &b in bytes {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x100000001b3);
        }
        self
    }

    /// Feed bulk data (file contents) 8 bytes at a time: each little-endian
    /// word is xor-ed in, multiplied by the FNV prime and rotated (so high
    /// bits feed back into low ones), then the tail goes byte by byte. About
    /// 8× faster than [`Fnv64::update`]; a change detector, not a checksum.
    pub fn update_words(&mut self, bytes: &[u8]) -> &mut Self {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let w = u64::from_le_bytes(w.try_into().expect("8 bytes"));
            self.0 = (self.0 ^ w).wrapping_mul(0x100000001b3).rotate_left(29);
        }
        self.update(words.remainder())
    }

    /// Feed a string followed by a separator, so ("ab","c") ≠ ("a","bc").
    pub fn field(&mut self, s: &str) -> &mut Self {
        self.update(s.as_bytes()).update(&[0xff])
    }

    pub fn finish(&self) -> u64 {
        self.0
    }

    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// Hash of a byte string.
pub fn fnv64(bytes: &[u8]) -> u64 {
    Fnv64::new().update(bytes).finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn word_hash_sees_every_byte() {
        let base = vec![7u8; 37];
        let h0 = super::Fnv64::new().update_words(&base).finish();
        for i in 0..base.len() {
            for bit in 0..8 {
                let mut b = base.clone();
                b[i] ^= 1 << bit;
                assert_ne!(
                    super::Fnv64::new().update_words(&b).finish(),
                    h0,
                    "byte {i} bit {bit}"
                );
            }
        }
    }

    #[test]
    fn known_value() {
        // FNV-1a 64 of "a" (published test vector).
        assert_eq!(super::fnv64(b"a"), 0xaf63dc4c8601ec8c);
    }
}
