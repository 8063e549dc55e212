//! PackStream v1 (and the 6.1 UUID marker): values, decoding, encoding.
//!
//! - [`value`]: the [`Value`] tree and the order-preserving [`Map`].
//! - [`structs`]: typed graph, temporal, spatial and vector structures.
//! - [`decode`](mod@decode): bounded decoding from a complete buffer.
//! - [`encode`](mod@encode): encoding with the smallest markers.

pub mod decode;
pub mod encode;
pub mod marker;
pub mod structs;
pub mod value;

pub use decode::{decode, Decoder, Limits};
pub use encode::{encode, to_vec};
pub use structs::*;
pub use value::{Map, Value};
