//! PackStream v1 marker bytes.

/// Null.
pub const NULL: u8 = 0xC0;
/// IEEE-754 double.
pub const FLOAT_64: u8 = 0xC1;
/// false.
pub const FALSE: u8 = 0xC2;
/// true.
pub const TRUE: u8 = 0xC3;
/// Signed 8-bit integer.
pub const INT_8: u8 = 0xC8;
/// Signed 16-bit integer.
pub const INT_16: u8 = 0xC9;
/// Signed 32-bit integer.
pub const INT_32: u8 = 0xCA;
/// Signed 64-bit integer.
pub const INT_64: u8 = 0xCB;
/// Byte array, u8 length.
pub const BYTES_8: u8 = 0xCC;
/// Byte array, u16 length.
pub const BYTES_16: u8 = 0xCD;
/// Byte array, u32 length.
pub const BYTES_32: u8 = 0xCE;
/// Tiny string base (low nibble = length).
pub const TINY_STRING: u8 = 0x80;
/// String, u8 length.
pub const STRING_8: u8 = 0xD0;
/// String, u16 length.
pub const STRING_16: u8 = 0xD1;
/// String, u32 length.
pub const STRING_32: u8 = 0xD2;
/// Tiny list base.
pub const TINY_LIST: u8 = 0x90;
/// List, u8 length.
pub const LIST_8: u8 = 0xD4;
/// List, u16 length.
pub const LIST_16: u8 = 0xD5;
/// List, u32 length.
pub const LIST_32: u8 = 0xD6;
/// Tiny dictionary base.
pub const TINY_MAP: u8 = 0xA0;
/// Dictionary, u8 length.
pub const MAP_8: u8 = 0xD8;
/// Dictionary, u16 length.
pub const MAP_16: u8 = 0xD9;
/// Dictionary, u32 length.
pub const MAP_32: u8 = 0xDA;
/// Tiny structure base (low nibble = field count).
pub const TINY_STRUCT: u8 = 0xB0;
/// UUID, 16 raw bytes (Bolt 6.1+).
pub const UUID: u8 = 0xE0;

/// Largest size PackStream allows for strings, byte arrays and collections.
pub const MAX_SIZE: usize = i32::MAX as usize;
