//! Typed errors. Every variant that comes from a file names that file.

use std::path::PathBuf;

/// Result alias used across ctrad.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operating system refused a read or write.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A file's content is malformed, truncated or unsupported.
    #[error("{}: {reason}", path.display())]
    Format { path: PathBuf, reason: String },

    /// A file declares more data than ctrad is willing to allocate.
    #[error("{}: {reason}", path.display())]
    ResourceLimit { path: PathBuf, reason: String },

    /// Image and mask are not on the same voxel grid.
    #[error("mask {} does not match image {}: {reason}", mask.display(), image.display())]
    GeometryMismatch {
        image: PathBuf,
        mask: PathBuf,
        reason: String,
    },

    /// The region of interest has no voxels (at the stage named).
    #[error("empty ROI: {0}")]
    EmptyRoi(String),

    /// A parameter file or setting is invalid.
    #[error("parameters {}: {reason}", path.display())]
    Params { path: PathBuf, reason: String },

    /// Any other invalid input or argument.
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// Shorthand for [`Error::Format`].
    pub fn format(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`Error::Params`].
    pub fn params(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Params {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
