//! Reading string columns whatever Arrow string type a table scan gives them (Delta scans give
//! `Utf8View`, in-memory tables `Utf8`), without copying the common two.

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray, StringViewArray};
use arrow::datatypes::DataType;

use crate::{IdentityError, Result};

/// One string column of a batch.
pub(crate) enum TextColumn {
    Utf8(StringArray),
    View(StringViewArray),
}

impl TextColumn {
    /// Column `i` of `batch` (read from `table`, named in errors); other types are cast.
    pub(crate) fn of(batch: &RecordBatch, i: usize, table: &str) -> Result<Self> {
        let c: &ArrayRef = batch.column(i);
        Ok(match c.data_type() {
            DataType::Utf8View => TextColumn::View(c.as_string_view().clone()),
            DataType::Utf8 => TextColumn::Utf8(c.as_string::<i32>().clone()),
            _ => {
                let cast = arrow::compute::cast(c, &DataType::Utf8).map_err(|e| {
                    IdentityError::Column {
                        table: table.to_string(),
                        column: batch.schema().field(i).name().clone(),
                        message: e.to_string(),
                    }
                })?;
                TextColumn::Utf8(cast.as_string::<i32>().clone())
            }
        })
    }

    /// The value at `row`; `None` when null.
    pub(crate) fn get(&self, row: usize) -> Option<&str> {
        match self {
            TextColumn::Utf8(a) => a.is_valid(row).then(|| a.value(row)),
            TextColumn::View(a) => a.is_valid(row).then(|| a.value(row)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    #[test]
    fn every_string_type_reads_the_same_values() {
        let values = [Some("a"), None, Some("c")];
        let arrays: [ArrayRef; 3] = [
            Arc::new(StringArray::from(values.to_vec())),
            Arc::new(StringViewArray::from(values.to_vec())),
            Arc::new(arrow::array::LargeStringArray::from(values.to_vec())),
        ];
        for a in arrays {
            let schema = Arc::new(Schema::new(vec![Field::new(
                "s",
                a.data_type().clone(),
                true,
            )]));
            let batch = RecordBatch::try_new(schema, vec![a]).expect("batch");
            let col = TextColumn::of(&batch, 0, "t").expect("readable");
            assert_eq!((0..3).map(|r| col.get(r)).collect::<Vec<_>>(), values);
        }
    }
}
