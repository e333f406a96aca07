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
    fn known_value() {
        // FNV-1a 64 of "a" (published test vector).
        assert_eq!(super::fnv64(b"a"), 0xaf63dc4c8601ec8c);
    }
}
