//! Bank file formats (work in progress).
