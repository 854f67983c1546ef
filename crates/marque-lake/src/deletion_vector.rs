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

/// Decodes the vector at `offset` (of `size_in_bytes`) in the bytes of a file, checking the
/// version, size, magic number and checksum.
pub(crate) fn decode(
    file: &[u8],
    offset: usize,
    size_in_bytes: usize,
) -> Result<RoaringTreemap, String> {
    if file.first() != Some(&1) {
        return Err(format!("unknown version {:?}", file.first()));
    }
    let at = |from: usize, len: usize| {
        file.get(from..from + len).ok_or_else(|| {
            format!(
                "{} bytes, too short for a vector at offset {offset} of {size_in_bytes}",
                file.len()
            )
        })
    };
    let word = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let stated = word(at(offset, 4)?) as usize;
    if stated != size_in_bytes {
        return Err(format!(
            "size {stated} at offset {offset}, the log says {size_in_bytes}"
        ));
    }
    let data = at(offset + 4, size_in_bytes)?;
    let crc = word(at(offset + 4 + size_in_bytes, 4)?);
    if crc != crc32fast::hash(data) {
        return Err(format!("checksum mismatch at offset {offset}"));
    }
    let (magic, bitmap) = data.split_at(4.min(data.len()));
    if magic != MAGIC.to_le_bytes() {
        return Err(format!("not a portable RoaringTreemap at offset {offset}"));
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
        assert_eq!(read(&placed[1], &file), Ok(b));
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
