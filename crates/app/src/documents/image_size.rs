//! The pixel size of an uploaded PNG or JPEG, read from its header alone. A few kilobytes
//! can declare a 60,000 × 60,000 image that takes gigabytes to decode (a "decompression
//! bomb"), in the renderer for a logo or in a viewer's browser for an upload, so uploads
//! declaring more than [`MAX_PIXELS`] are refused before anything decodes them.

/// 40 megapixels: more than any phone photo or scanned certificate needs.
pub const MAX_PIXELS: u64 = 40_000_000;

/// Refuses an image (by its extension, `png` or `jpg`) whose header declares too many
/// pixels or cannot be read; other kinds pass.
pub(crate) fn check_pixels(ext: &str, bytes: &[u8]) -> Result<(), String> {
    let size = match ext {
        "png" => png_size(bytes),
        "jpg" => jpeg_size(bytes),
        _ => return Ok(()),
    };
    let Some((width, height)) = size else {
        return Err("is an image whose size cannot be read".into());
    };
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(format!(
            "is {width} × {height} pixels; at most {} megapixels are accepted",
            MAX_PIXELS / 1_000_000
        ));
    }
    Ok(())
}

/// Width and height from the IHDR chunk, which the PNG format requires first.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    let width = u32::from_be_bytes(bytes.get(16..20)?.try_into().ok()?);
    let height = u32::from_be_bytes(bytes.get(20..24)?.try_into().ok()?);
    Some((width, height))
}

/// Width and height from the first start-of-frame segment, skipping the segments before it.
fn jpeg_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2; // after the start-of-image marker
    loop {
        // A marker is 0xFF (possibly repeated as fill) and a code.
        while *bytes.get(at)? == 0xFF && *bytes.get(at + 1)? == 0xFF {
            at += 1;
        }
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let code = *bytes.get(at + 1)?;
        let length = usize::from(u16::from_be_bytes([
            *bytes.get(at + 2)?,
            *bytes.get(at + 3)?,
        ]));
        // Start-of-frame codes: C0–CF except C4 (Huffman tables), C8 (reserved), CC
        // (arithmetic coding conditioning).
        if (0xC0..=0xCF).contains(&code) && !matches!(code, 0xC4 | 0xC8 | 0xCC) {
            let height = u16::from_be_bytes([*bytes.get(at + 5)?, *bytes.get(at + 6)?]);
            let width = u16::from_be_bytes([*bytes.get(at + 7)?, *bytes.get(at + 8)?]);
            return Some((u32::from(width), u32::from(height)));
        }
        if length < 2 {
            return None;
        }
        at += 2 + length;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
        b.extend(width.to_be_bytes());
        b.extend(height.to_be_bytes());
        b.extend([8, 2, 0, 0, 0]);
        b
    }

    /// SOI, an APP0 segment, then a baseline SOF0 frame header.
    fn jpeg(width: u16, height: u16) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x4A, 0x46];
        b.extend([0xFF, 0xC0, 0x00, 0x11, 0x08]);
        b.extend(height.to_be_bytes());
        b.extend(width.to_be_bytes());
        b.extend([0x03]);
        b
    }

    #[test]
    fn sizes_are_read_from_the_header() {
        assert_eq!(png_size(&png(640, 480)), Some((640, 480)));
        assert_eq!(jpeg_size(&jpeg(1024, 768)), Some((1024, 768)));
        assert_eq!(jpeg_size(&[0xFF, 0xD8, 0xFF]), None);
        assert_eq!(png_size(b"\x89PNG\r\n\x1a\n"), None);
    }

    #[test]
    fn more_than_forty_megapixels_is_refused() {
        assert_eq!(check_pixels("png", &png(8000, 5000)), Ok(()));
        let refused = check_pixels("png", &png(8000, 5001)).unwrap_err();
        assert_eq!(
            refused,
            "is 8000 × 5001 pixels; at most 40 megapixels are accepted"
        );
        assert!(check_pixels("jpg", &jpeg(65000, 65000)).is_err());
        assert!(check_pixels("jpg", &[0xFF, 0xD8, 0xFF, 0x00]).is_err());
        assert_eq!(check_pixels("pdf", b"%PDF-1.7"), Ok(()));
    }
}
