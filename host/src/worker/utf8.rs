//! Output bytes to text for the job's event stream.
use codr_job::Stream;

/// Turns byte chunks into text without splitting a UTF-8 sequence across
/// two messages (a PTY cuts anywhere); invalid bytes become U+FFFD.
#[derive(Default)]
pub struct Utf8Streams {
    pending: std::collections::HashMap<Stream, Vec<u8>>,
}

impl Utf8Streams {
    /// The text of `data` that is complete so far, for its stream.
    pub fn decode(&mut self, stream: Stream, data: &[u8]) -> String {
        let buf = self.pending.entry(stream).or_default();
        buf.extend_from_slice(data);
        take_complete(buf)
    }

    /// What is left at the end (an incomplete sequence becomes U+FFFD).
    pub fn finish(self) -> Vec<(Stream, String)> {
        self.pending
            .into_iter()
            .filter(|(_, b)| !b.is_empty())
            .map(|(n, b)| (n, String::from_utf8_lossy(&b).into_owned()))
            .collect()
    }
}

/// Removes and returns the longest decodable prefix of `buf`, keeping an
/// incomplete trailing sequence for the next chunk.
fn take_complete(buf: &mut Vec<u8>) -> String {
    let mut out = String::new();
    loop {
        match std::str::from_utf8(buf) {
            Ok(s) => {
                out.push_str(s);
                buf.clear();
                return out;
            }
            Err(e) => {
                let valid = e.valid_up_to();
                out.push_str(std::str::from_utf8(&buf[..valid]).unwrap_or_default());
                match e.error_len() {
                    // Incomplete at the end: wait for more bytes.
                    None => {
                        buf.drain(..valid);
                        return out;
                    }
                    Some(bad) => {
                        out.push('\u{FFFD}');
                        buf.drain(..valid + bad);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_split_across_chunks_is_kept_whole() {
        let text = "héllo ✓";
        let bytes = text.as_bytes();
        let mut buf = Vec::new();
        let mut got = String::new();
        for b in bytes {
            buf.push(*b);
            got.push_str(&take_complete(&mut buf));
        }
        assert_eq!(got, text);
        assert!(buf.is_empty());
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut buf = b"a\xffb".to_vec();
        assert_eq!(take_complete(&mut buf), "a\u{FFFD}b");
    }
}
