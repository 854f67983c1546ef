//! Deletion vectors in the Delta format: the rows of a data file that are deleted, kept as a
//! RoaringTreemap in a `deletion_vector_<uuid>.bin` file beside the data, so that deleting a
//! few rows does not rewrite the file they sit in.
//!
//! Format (Delta protocol, "Deletion Vector Format"): a file starts with a version byte (1);
//! each vector in it is its size (4 bytes, big-endian), then the magic number 1681511377
//! (little-endian) and the treemap's portable serialisation, then the CRC-32 of magic and
//! treemap (big-endian). An `add` action names the file by the z85 encoding of its UUID and
//! gives each vector's offset, size and cardinality.

use roaring::RoaringTreemap;

/// Marks a vector as a portable RoaringTreemap.
const MAGIC: u32 = 1_681_511_377;

/// Where one encoded vector sits in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Placed {
    pub offset: i32,
    pub size_in_bytes: i32,
    pub cardinality: i64,
}

/// Encodes `vectors` into the bytes of one file and says where each one is.
pub(crate) fn encode<'a>(
    vectors: impl IntoIterator<Item = &'a RoaringTreemap>,
) -> Result<(Vec<u8>, Vec<Placed>), String> {
    let mut file = vec![1u8];
    let mut placed = Vec::new();
    for v in vectors {
        let mut data = MAGIC.to_le_bytes().to_vec();
        v.serialize_into(&mut data)
            .map_err(|e| format!("serialising a deletion vector: {e}"))?;
        let size = i32::try_from(data.len()).map_err(|_| "deletion vector over 2 GiB")?;
        let offset = i32::try_from(file.len()).map_err(|_| "deletion vector file over 2 GiB")?;
        file.extend_from_slice(&(size as u32).to_be_bytes());
        file.extend_from_slice(&data);
        file.extend_from_slice(&crc32fast::hash(&data).to_be_bytes());
        placed.push(Placed {
            offset,
            size_in_bytes: size,
            cardinality: v.len() as i64,
        });
    }
    Ok((file, placed))
}

/// The bytes of the vector at `offset` (of `size_in_bytes`) in its file: its size, the data
/// and the checksum. A reader fetches only these, not the whole file, which holds the vectors
/// of every data file one run marked.
pub(crate) fn range_of(offset: usize, size_in_bytes: usize) -> std::ops::Range<usize> {
    offset..offset + 4 + size_in_bytes + 4
}

/// Decodes the vector at `offset` (of `size_in_bytes`) in the bytes of a whole file, checking
/// the version too.
#[cfg(test)]
pub(crate) fn decode(
    file: &[u8],
    offset: usize,
    size_in_bytes: usize,
) -> Result<RoaringTreemap, String> {
    if file.first() != Some(&1) {
        return Err(format!("unknown version {:?}", file.first()));
    }
    let bytes = file.get(range_of(offset, size_in_bytes)).ok_or_else(|| {
        format!(
            "{} bytes, too short for a vector at offset {offset} of {size_in_bytes}",
            file.len()
        )
    })?;
    decode_range(bytes, size_in_bytes).map_err(|m| format!("{m} at offset {offset}"))
}

/// Decodes a vector from the bytes [`range_of`] gives, checking its size, magic number and
/// checksum.
pub(crate) fn decode_range(bytes: &[u8], size_in_bytes: usize) -> Result<RoaringTreemap, String> {
    if bytes.len() != 4 + size_in_bytes + 4 {
        return Err(format!(
            "{} bytes read for a vector of {size_in_bytes}",
            bytes.len()
        ));
    }
    let word = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let stated = word(&bytes[..4]) as usize;
    if stated != size_in_bytes {
        return Err(format!("size {stated}, the log says {size_in_bytes}"));
    }
    let data = &bytes[4..4 + size_in_bytes];
    if word(&bytes[4 + size_in_bytes..]) != crc32fast::hash(data) {
        return Err("checksum mismatch".to_string());
    }
    let (magic, bitmap) = data.split_at(4.min(data.len()));
    if magic != MAGIC.to_le_bytes() {
        return Err("not a portable RoaringTreemap".to_string());
    }
    RoaringTreemap::deserialize_from(bitmap).map_err(|e| format!("reading a deletion vector: {e}"))
}

/// A new vector file's name beside the data (no random prefix) and the `pathOrInlineDv` that
/// names it in an `add` action.
pub(crate) fn new_file() -> (String, String) {
    let id = uuid::Uuid::new_v4();
    (
        format!("deletion_vector_{id}.bin"),
        z85::encode(id.as_bytes()),
    )
}

/// The file a `pathOrInlineDv` of storage type `u` names, relative to the table's root: an
/// optional prefix folder, then the file named by the last 20 characters (the UUID in z85).
pub(crate) fn file_of(path_or_inline_dv: &str) -> Result<String, String> {
    let split = path_or_inline_dv
        .len()
        .checked_sub(20)
        .filter(|&s| path_or_inline_dv.is_char_boundary(s))
        .ok_or_else(|| format!("deletion vector path {path_or_inline_dv:?} is too short"))?;
    let (prefix, encoded) = path_or_inline_dv.split_at(split);
    let bytes = z85::decode(encoded)
        .map_err(|e| format!("deletion vector path {path_or_inline_dv:?}: {e}"))?;
    let id = uuid::Uuid::from_slice(&bytes)
        .map_err(|e| format!("deletion vector path {path_or_inline_dv:?}: {e}"))?;
    let name = format!("deletion_vector_{id}.bin");
    Ok(if prefix.is_empty() {
        name
    } else {
        format!("{prefix}/{name}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_and_a_damaged_file_is_refused() {
        let a: RoaringTreemap = [0u64, 5, 6, 1 << 33].into_iter().collect();
        let b: RoaringTreemap = (100u64..200).collect();
        let (file, placed) = encode([&a, &b]).expect("encodes");
        assert_eq!(placed[0].offset, 1, "after the version byte");
        assert_eq!((placed[0].cardinality, placed[1].cardinality), (4, 100));
        let read = |p: &Placed, f: &[u8]| decode(f, p.offset as usize, p.size_in_bytes as usize);
        assert_eq!(read(&placed[0], &file), Ok(a));
        assert_eq!(read(&placed[1], &file), Ok(b.clone()));
        // What a reader fetches of the file: the one vector's range.
        let (at, size) = (placed[1].offset as usize, placed[1].size_in_bytes as usize);
        let range = &file[range_of(at, size)];
        assert_eq!(decode_range(range, size), Ok(b));
        assert!(
            decode_range(&range[..range.len() - 1], size)
                .unwrap_err()
                .contains("bytes read")
        );
        let mut damaged = file.clone();
        let last = damaged.len() - 6;
        damaged[last] ^= 0xff;
        assert!(read(&placed[1], &damaged).unwrap_err().contains("checksum"));
        let wrong = Placed {
            size_in_bytes: placed[0].size_in_bytes + 1,
            ..placed[0]
        };
        assert!(read(&wrong, &file).unwrap_err().contains("the log says"));
    }

    #[test]
    fn a_vector_file_is_named_by_its_uuid_in_z85() {
        let (name, path) = new_file();
        assert_eq!(path.len(), 20);
        assert_eq!(file_of(&path), Ok(name.clone()));
        assert_eq!(file_of(&format!("ab{path}")), Ok(format!("ab/{name}")));
        assert!(file_of("short").is_err());
    }
}
