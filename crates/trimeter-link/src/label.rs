//! A short text (an instance's label) that one thread writes and others read without locks: a
//! sequence lock over atomic bytes.

use crate::sync::{fence, AtomicU32, AtomicU8, Ordering};

/// Bytes a label holds; longer labels are cut at a character boundary.
pub const LABEL_BYTES: usize = 48;

/// A label in a slot.
#[derive(Debug)]
pub struct Label {
    /// Even when stable, odd while a writer is changing the bytes.
    sequence: AtomicU32,
    len: AtomicU8,
    bytes: [AtomicU8; LABEL_BYTES],
}

impl Default for Label {
    fn default() -> Self {
        Self {
            sequence: AtomicU32::new(0),
            len: AtomicU8::new(0),
            bytes: std::array::from_fn(|_| AtomicU8::new(0)),
        }
    }
}

impl Label {
    /// Sets the text. Writers (not readers) wait for each other, so call it from a non-real-time
    /// thread.
    pub fn set(&self, text: &str) {
        let mut end = text.len().min(LABEL_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let bytes = &text.as_bytes()[..end];
        // Take the write side: move the sequence from even to odd.
        let mut seq = self.sequence.load(Ordering::Relaxed);
        loop {
            if seq % 2 == 1 {
                std::hint::spin_loop();
                seq = self.sequence.load(Ordering::Relaxed);
                continue;
            }
            match self.sequence.compare_exchange_weak(
                seq,
                seq + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => seq = now,
            }
        }
        fence(Ordering::Release);
        for (cell, &b) in self.bytes.iter().zip(bytes) {
            cell.store(b, Ordering::Relaxed);
        }
        self.len.store(end as u8, Ordering::Relaxed);
        self.sequence.store(seq + 2, Ordering::Release);
    }

    /// The text, or `None` when a writer kept changing it during `attempts` tries.
    pub fn get(&self, attempts: usize) -> Option<String> {
        for _ in 0..attempts.max(1) {
            let before = self.sequence.load(Ordering::Acquire);
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let len = usize::from(self.len.load(Ordering::Relaxed)).min(LABEL_BYTES);
            let mut buffer = [0u8; LABEL_BYTES];
            for (b, cell) in buffer.iter_mut().zip(&self.bytes).take(len) {
                *b = cell.load(Ordering::Relaxed);
            }
            fence(Ordering::Acquire);
            if self.sequence.load(Ordering::Relaxed) == before {
                return Some(String::from_utf8_lossy(&buffer[..len]).into_owned());
            }
        }
        None
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn set_and_get_cut_at_a_character_boundary() {
        let label = Label::default();
        assert_eq!(label.get(1).as_deref(), Some(""));
        label.set("Kick In");
        assert_eq!(label.get(1).as_deref(), Some("Kick In"));
        let long = "ä".repeat(40); // 80 bytes
        label.set(&long);
        let got = label.get(1).unwrap();
        assert_eq!(got, "ä".repeat(24));
    }

    #[test]
    fn readers_never_see_a_torn_label() {
        let label = std::sync::Arc::new(Label::default());
        let writer = {
            let label = label.clone();
            std::thread::spawn(move || {
                for i in 0..20_000 {
                    label.set(if i % 2 == 0 {
                        "aaaaaaaaaaaaaaaa"
                    } else {
                        "bbbb"
                    });
                }
            })
        };
        while !writer.is_finished() {
            if let Some(text) = label.get(4) {
                assert!(
                    text.is_empty() || text == "aaaaaaaaaaaaaaaa" || text == "bbbb",
                    "{text}"
                );
            }
        }
        writer.join().unwrap();
    }
}
