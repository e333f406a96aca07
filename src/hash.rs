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

    /// Feed bulk data (file contents) as its XXH3-64 digest: XXH3 reads
    /// several words per step where FNV's chain takes one, ≈ 10× faster on
    /// whole DICOM series. A change detector, not a checksum.
    pub fn update_digest(&mut self, bytes: &[u8]) -> &mut Self {
        self.update(&xxhash_rust::xxh3::xxh3_64(bytes).to_le_bytes())
    }

    /// [`update_digest`](Self::update_digest) with the XXH3-64 digest of a
    /// stream's bytes, read in blocks (the same value as of the whole bytes).
    /// Returns the number of bytes read.
    pub fn file_digest(mut reader: impl std::io::Read) -> std::io::Result<(u64, u64)> {
        let mut state = xxhash_rust::xxh3::Xxh3::new();
        let mut block = vec![0u8; 256 << 10];
        let mut total = 0u64;
        loop {
            let n = match reader.read(&mut block) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            state.update(&block[..n]);
            total += n as u64;
        }
        Ok((state.digest(), total))
    }

    /// Feed a digest made by [`file_digest`](Self::file_digest).
    pub fn update_digest_value(&mut self, digest: u64) -> &mut Self {
        self.update(&digest.to_le_bytes())
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
    /// A streamed file digest equals the digest of the whole bytes.
    #[test]
    fn streamed_digest_equals_the_whole() {
        let bytes: Vec<u8> = (0..700_001u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let (d, n) = super::Fnv64::file_digest(&bytes[..]).unwrap();
        assert_eq!(n, bytes.len() as u64);
        let a = super::Fnv64::new().update_digest(&bytes).finish();
        let b = super::Fnv64::new().update_digest_value(d).finish();
        assert_eq!(a, b);
    }

    #[test]
    fn digest_sees_every_byte() {
        let base = vec![7u8; 37];
        let h0 = super::Fnv64::new().update_digest(&base).finish();
        for i in 0..base.len() {
            for bit in 0..8 {
                let mut b = base.clone();
                b[i] ^= 1 << bit;
                assert_ne!(
                    super::Fnv64::new().update_digest(&b).finish(),
                    h0,
                    "byte {i} bit {bit}"
                );
            }
        }
    }

    #[test]
    fn digest_is_xxh3_64() {
        // XXH3-64 of the empty input (published test vector), fed as 8 LE bytes.
        let want = super::Fnv64::new()
            .update(&0x2d06800538d394c2u64.to_le_bytes())
            .finish();
        assert_eq!(super::Fnv64::new().update_digest(b"").finish(), want);
    }

    #[test]
    fn known_value() {
        // FNV-1a 64 of "a" (published test vector).
        assert_eq!(super::fnv64(b"a"), 0xaf63dc4c8601ec8c);
    }
}
