//! Cash application engine (work in progress).
