//! Opaque page tokens (AIP-158). A token carries the keyset position and a
//! fingerprint of the filters it was issued for: a token reused with other
//! filters is refused, instead of silently paging through a different list.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Error;

#[derive(Debug, Serialize, Deserialize)]
struct Token {
    /// Keyset position: the last key of the previous page.
    after: String,
    /// First 16 hex digits of SHA-256 over the filters.
    filters: String,
}

/// Page size: 0 means `default`; more than `max` is refused.
pub fn page_size(requested: i32, default: u64, max: u64) -> Result<u64, Error> {
    match requested {
        0 => Ok(default),
        n if n < 0 || n as u64 > max => Err(Error::invalid_field(
            "page_size",
            format!("must be between 0 and {max}"),
        )),
        n => Ok(n as u64),
    }
}

pub fn fingerprint(filters: &str) -> String {
    hex::encode(&Sha256::digest(filters.as_bytes())[..8])
}

pub fn encode(after: &str, filters: &str) -> String {
    let token = Token {
        after: after.to_owned(),
        filters: fingerprint(filters),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).expect("token serialises"))
}

/// The keyset position of a token, or `None` for the first page.
pub fn decode(token: &str, filters: &str) -> Result<Option<String>, Error> {
    if token.is_empty() {
        return Ok(None);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| Error::InvalidPageToken("not a token this service issued".into()))?;
    let token: Token = serde_json::from_slice(&bytes)
        .map_err(|_| Error::InvalidPageToken("not a token this service issued".into()))?;
    if token.filters != fingerprint(filters) {
        return Err(Error::InvalidPageToken(
            "the filters differ from the request that issued this token".into(),
        ));
    }
    Ok(Some(token.after))
}

/// [`decode`] for cursors that are row ids.
pub fn decode_id(token: &str, filters: &str) -> Result<Option<i64>, Error> {
    decode(token, filters)?
        .map(|after| {
            after
                .parse::<i64>()
                .map_err(|_| Error::InvalidPageToken("not a token this service issued".into()))
        })
        .transpose()
}

/// Cuts a `size + 1` fetch to `size` rows and returns the token for the next
/// page (empty on the last one), keyed on the last row's `key`.
pub fn next_page<T, K: ToString>(
    rows: &mut Vec<T>,
    size: u64,
    key: impl Fn(&T) -> K,
    filters: &str,
) -> String {
    if rows.len() as u64 > size {
        rows.truncate(size as usize);
        encode(
            &key(rows.last().expect("page is not empty")).to_string(),
            filters,
        )
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_filter_change() {
        let t = encode("42", "status=NEW");
        assert_eq!(decode(&t, "status=NEW").unwrap().as_deref(), Some("42"));
        assert!(matches!(
            decode(&t, "status=RESOLVED"),
            Err(Error::InvalidPageToken(_))
        ));
        assert!(matches!(
            decode("garbage!", ""),
            Err(Error::InvalidPageToken(_))
        ));
        assert_eq!(decode("", "x").unwrap(), None);
    }

    #[test]
    fn next_page_cuts_the_extra_row_and_points_past_the_last() {
        let mut rows = vec![10, 9, 8];
        let token = next_page(&mut rows, 2, |r| *r, "f");
        assert_eq!(rows, [10, 9]);
        assert_eq!(decode_id(&token, "f").unwrap(), Some(9));
        let mut last = vec![7];
        assert_eq!(next_page(&mut last, 2, |r| *r, "f"), "");
        assert!(decode_id(&encode("x", "f"), "f").is_err());
    }

    #[test]
    fn page_size_bounds() {
        assert_eq!(page_size(0, 50, 500).unwrap(), 50);
        assert_eq!(page_size(500, 50, 500).unwrap(), 500);
        assert!(page_size(501, 50, 500).is_err());
        assert!(page_size(-1, 50, 500).is_err());
    }
}
