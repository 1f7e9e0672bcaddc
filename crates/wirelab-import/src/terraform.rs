//! `terraform show -json` (to be written).
use std::path::Path;

use crate::model::Cloud;
use crate::{ImportError, Warning};

pub fn read_file(_path: &Path, _warnings: &mut Vec<Warning>) -> Result<Cloud, ImportError> {
    Ok(Cloud::default())
}
