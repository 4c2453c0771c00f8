//! Removing metadata from images before they are hashed and stored, without re-encoding: the
//! pixels are copied byte for byte, only metadata segments and chunks are left out.
//!
//! - JPEG: APP1 (Exif, XMP), APP13 (IPTC, Photoshop) and COM segments before the first scan are
//!   dropped. When the Exif said the picture is turned (Orientation ≠ 1), a minimal Exif segment
//!   carrying only the Orientation tag takes its place, so the photo still shows upright. From
//!   the first scan (SOS) on, the bytes are copied as they are.
//! - PNG: eXIf, tEXt, zTXt, iTXt and tIME chunks are dropped; every other chunk is copied with
//!   its own CRC, which stays valid; anything after IEND is dropped.
//!
//! It never panics, whatever the input: a file it cannot walk is refused as damaged.

/// Why an image cannot be walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StripError {
    #[error("the image is damaged or truncated")]
    Damaged,
}

/// JPEG marker bytes (after 0xFF).
const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const APP1: u8 = 0xE1;
const APP13: u8 = 0xED;
const COM: u8 = 0xFE;
const TEM: u8 = 0x01;

/// The Orientation tag of Exif (TIFF tag 274).
const ORIENTATION: u16 = 0x0112;

/// A JPEG without its metadata segments (see the module).
pub fn strip_jpeg(input: &[u8]) -> Result<Vec<u8>, StripError> {
    if input.get(..2) != Some(&[0xFF, SOI][..]) {
        return Err(StripError::Damaged);
    }
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&[0xFF, SOI]);
    let mut pos = 2;
    let mut orientation_kept = false;
    loop {
        // A marker: 0xFF, any number of fill 0xFF, then the marker byte.
        if input.get(pos) != Some(&0xFF) {
            return Err(StripError::Damaged);
        }
        while input.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *input.get(pos).ok_or(StripError::Damaged)?;
        pos += 1;
        match marker {
            EOI => {
                // An image with no scan has no picture: not a photo of anything.
                return Err(StripError::Damaged);
            }
            SOI | TEM | 0xD0..=0xD7 | 0x00 => return Err(StripError::Damaged),
            _ => {}
        }
        let len_bytes = input.get(pos..pos + 2).ok_or(StripError::Damaged)?;
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        if len < 2 {
            return Err(StripError::Damaged);
        }
        let end = pos.checked_add(len).ok_or(StripError::Damaged)?;
        let segment = input.get(pos..end).ok_or(StripError::Damaged)?;
        let payload = &segment[2..];
        match marker {
            SOS => {
                // The scan and everything after it: copied as it is.
                out.push(0xFF);
                out.push(marker);
                out.extend_from_slice(&input[pos..]);
                return Ok(out);
            }
            APP1 => {
                if !orientation_kept
                    && let Some(o) = exif_orientation(payload).filter(|o| (2..=8).contains(o))
                {
                    out.extend_from_slice(&minimal_exif(o));
                    orientation_kept = true;
                }
            }
            APP13 | COM => {}
            _ => {
                out.push(0xFF);
                out.push(marker);
                out.extend_from_slice(segment);
            }
        }
        pos = end;
    }
}

/// The Orientation of an APP1 payload when it is Exif (`Exif\0\0` and a TIFF header), read from
/// IFD0; `None` when it is not Exif, has no Orientation, or cannot be read.
pub fn exif_orientation(payload: &[u8]) -> Option<u16> {
    let tiff = payload.strip_prefix(b"Exif\0\0")?;
    let big = match tiff.get(..4)? {
        [b'I', b'I', 42, 0] => false,
        [b'M', b'M', 0, 42] => true,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let b = tiff.get(at..at.checked_add(2)?)?;
        Some(if big {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b = tiff.get(at..at.checked_add(4)?)?;
        Some(if big {
            u32::from_be_bytes([b[0], b[1], b[2], b[3]])
        } else {
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let count = usize::from(u16_at(ifd)?);
    for i in 0..count {
        let entry = ifd.checked_add(2)?.checked_add(i.checked_mul(12)?)?;
        if u16_at(entry)? == ORIENTATION {
            // Type SHORT (3), count 1: the value sits in the first two bytes of the value field.
            if u16_at(entry + 2)? != 3 || u32_at(entry + 4)? != 1 {
                return None;
            }
            return u16_at(entry + 8);
        }
    }
    None
}

/// An APP1 segment (marker included) whose Exif holds one tag: Orientation = `orientation`.
pub fn minimal_exif(orientation: u16) -> Vec<u8> {
    let mut seg = Vec::with_capacity(36);
    seg.extend_from_slice(&[0xFF, APP1]);
    // Length: itself (2) + "Exif\0\0" (6) + TIFF header (8) + count (2) + one entry (12) + next
    // IFD (4).
    seg.extend_from_slice(&34u16.to_be_bytes());
    seg.extend_from_slice(b"Exif\0\0");
    seg.extend_from_slice(b"MM\0\x2a");
    seg.extend_from_slice(&8u32.to_be_bytes());
    seg.extend_from_slice(&1u16.to_be_bytes());
    seg.extend_from_slice(&ORIENTATION.to_be_bytes());
    seg.extend_from_slice(&3u16.to_be_bytes());
    seg.extend_from_slice(&1u32.to_be_bytes());
    seg.extend_from_slice(&orientation.to_be_bytes());
    seg.extend_from_slice(&[0, 0]);
    seg.extend_from_slice(&0u32.to_be_bytes());
    seg
}

/// The PNG signature.
const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// The chunks that carry metadata, never pixels.
const PNG_DROPPED: [&[u8; 4]; 5] = [b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"];

/// A PNG without its metadata chunks (see the module).
pub fn strip_png(input: &[u8]) -> Result<Vec<u8>, StripError> {
    if input.get(..8) != Some(&PNG_SIGNATURE[..]) {
        return Err(StripError::Damaged);
    }
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&PNG_SIGNATURE);
    let mut pos = 8;
    let mut first = true;
    loop {
        let head = input.get(pos..pos + 8).ok_or(StripError::Damaged)?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        // The format caps a chunk at 2^31 - 1 bytes.
        if len > 0x7FFF_FFFF {
            return Err(StripError::Damaged);
        }
        let kind: [u8; 4] = [head[4], head[5], head[6], head[7]];
        if !kind.iter().all(u8::is_ascii_alphabetic) || (first && &kind != b"IHDR") {
            return Err(StripError::Damaged);
        }
        first = false;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| pos.checked_add(12)?.checked_add(l))
            .ok_or(StripError::Damaged)?;
        let chunk = input.get(pos..end).ok_or(StripError::Damaged)?;
        if !PNG_DROPPED.contains(&&kind) {
            out.extend_from_slice(chunk);
        }
        if &kind == b"IEND" {
            return Ok(out);
        }
        pos = end;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap_or(0).to_be_bytes());
        s.extend_from_slice(payload);
        s
    }

    /// An Exif payload with Orientation `o` and another tag, little-endian.
    fn exif_le(o: u16) -> Vec<u8> {
        let mut p = b"Exif\0\0II\x2a\0".to_vec();
        p.extend_from_slice(&8u32.to_le_bytes());
        p.extend_from_slice(&2u16.to_le_bytes());
        // Make (0x010F), ASCII, 4 bytes inline: "Cam\0".
        p.extend_from_slice(&0x010Fu16.to_le_bytes());
        p.extend_from_slice(&2u16.to_le_bytes());
        p.extend_from_slice(&4u32.to_le_bytes());
        p.extend_from_slice(b"Cam\0");
        p.extend_from_slice(&ORIENTATION.to_le_bytes());
        p.extend_from_slice(&3u16.to_le_bytes());
        p.extend_from_slice(&1u32.to_le_bytes());
        p.extend_from_slice(&o.to_le_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(&0u32.to_le_bytes());
        p
    }

    fn jpeg(segments: &[Vec<u8>]) -> Vec<u8> {
        let mut j = vec![0xFF, SOI];
        for s in segments {
            j.extend_from_slice(s);
        }
        j.extend_from_slice(&segment(SOS, &[1, 1, 0, 0, 63, 0]));
        j.extend_from_slice(&[0x12, 0x34, 0xFF, 0x00, 0x56, 0xFF, EOI]);
        j
    }

    #[test]
    fn exif_xmp_iptc_and_comments_go_and_the_orientation_stays() {
        let app0 = segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        let dqt = segment(0xDB, &[0; 65]);
        let input = jpeg(&[
            app0.clone(),
            segment(APP1, &exif_le(6)),
            segment(
                APP1,
                b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>secret</x:xmpmeta>",
            ),
            segment(APP13, b"Photoshop 3.0\08BIM secret"),
            segment(COM, b"secret comment"),
            dqt.clone(),
        ]);
        let out = strip_jpeg(&input).unwrap();
        let expected = jpeg(&[app0, minimal_exif(6), dqt]);
        assert_eq!(out, expected);
        assert!(!out.windows(6).any(|w| w == b"secret"));
        assert!(!out.windows(3).any(|w| w == b"Cam"));
        assert_eq!(exif_orientation(&minimal_exif(6)[4..]), Some(6));
    }

    #[test]
    fn an_upright_photo_keeps_no_exif_at_all() {
        let input = jpeg(&[segment(APP1, &exif_le(1))]);
        assert_eq!(strip_jpeg(&input).unwrap(), jpeg(&[]));
    }

    #[test]
    fn big_endian_exif_is_read_too() {
        let seg = minimal_exif(8);
        assert_eq!(exif_orientation(&seg[4..]), Some(8));
        assert_eq!(exif_orientation(b"Exif\0\0MM\0\x2a\0\0\0\x08\0\0"), None);
        assert_eq!(exif_orientation(b"http://ns.adobe.com/xap/1.0/\0"), None);
    }

    #[test]
    fn damaged_jpegs_are_refused() {
        let good = jpeg(&[]);
        for bad in [
            &good[..1],
            &good[..4],
            &[0xFF, SOI, 0xFF, EOI][..],
            &[0xFF, SOI, 0x00][..],
            &[0xFF, SOI, 0xFF, 0xE0, 0x00, 0x01][..],
            &[0xFF, SOI, 0xFF, 0xE0, 0x00, 0x10, 0x00][..],
        ] {
            assert_eq!(strip_jpeg(bad), Err(StripError::Damaged), "{bad:?}");
        }
    }

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = u32::try_from(data.len())
            .unwrap_or(0)
            .to_be_bytes()
            .to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        // The CRC is copied, never checked or recomputed: any four bytes do here.
        c.extend_from_slice(&[1, 2, 3, 4]);
        c
    }

    #[test]
    fn png_text_time_and_exif_chunks_go_and_trailing_bytes_too() {
        let ihdr = chunk(b"IHDR", &[0; 13]);
        let idat = chunk(b"IDAT", &[9; 20]);
        let iend = chunk(b"IEND", &[]);
        let mut input = PNG_SIGNATURE.to_vec();
        for c in [
            ihdr.clone(),
            chunk(b"tEXt", b"Author\0secret"),
            chunk(b"eXIf", b"MM\0\x2asecret"),
            chunk(b"zTXt", b"k\0\0secret"),
            chunk(b"iTXt", b"k\0\0\0\0\0secret"),
            chunk(b"tIME", &[7; 7]),
            idat.clone(),
            iend.clone(),
        ] {
            input.extend_from_slice(&c);
        }
        input.extend_from_slice(b"secret trailer");
        let out = strip_png(&input).unwrap();
        let mut expected = PNG_SIGNATURE.to_vec();
        for c in [ihdr, idat, iend] {
            expected.extend_from_slice(&c);
        }
        assert_eq!(out, expected);
    }

    #[test]
    fn damaged_pngs_are_refused() {
        let mut no_end = PNG_SIGNATURE.to_vec();
        no_end.extend_from_slice(&chunk(b"IHDR", &[0; 13]));
        let mut not_ihdr_first = PNG_SIGNATURE.to_vec();
        not_ihdr_first.extend_from_slice(&chunk(b"IDAT", &[0; 13]));
        let mut huge = PNG_SIGNATURE.to_vec();
        huge.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
        huge.extend_from_slice(b"IHDR");
        for bad in [
            &PNG_SIGNATURE[..4],
            &PNG_SIGNATURE[..],
            &no_end[..],
            &not_ihdr_first[..],
            &huge[..],
        ] {
            assert_eq!(strip_png(bad), Err(StripError::Damaged));
        }
    }

    proptest! {
        /// Whatever the bytes, the strippers answer; they never panic or loop.
        #[test]
        fn any_input_is_answered_without_panic(
            body in proptest::collection::vec(any::<u8>(), 0..600),
            prefix in 0usize..3,
        ) {
            let mut input = match prefix {
                0 => vec![0xFF, SOI],
                1 => PNG_SIGNATURE.to_vec(),
                _ => Vec::new(),
            };
            input.extend_from_slice(&body);
            let _ = strip_jpeg(&input);
            let _ = strip_png(&input);
            let _ = exif_orientation(&input);
        }

        /// Well-formed JPEGs with random segments: the output is never longer than the input
        /// plus one minimal Exif, never holds an APP1 other than that one, and strips twice to
        /// the same bytes.
        #[test]
        fn stripping_is_idempotent(
            segs in proptest::collection::vec(
                (prop_oneof![Just(0xE0u8), Just(APP1), Just(0xE2), Just(APP13), Just(COM), Just(0xDB)],
                 proptest::collection::vec(any::<u8>(), 0..80)),
                0..8,
            ),
        ) {
            let segments: Vec<Vec<u8>> = segs.iter().map(|(m, p)| segment(*m, p)).collect();
            let input = jpeg(&segments);
            let once = strip_jpeg(&input).unwrap();
            prop_assert!(once.len() <= input.len() + minimal_exif(1).len());
            prop_assert_eq!(strip_jpeg(&once).unwrap(), once.clone());
        }
    }
}
