//! The API's JSON bodies: any bytes, as the body of every request type through the server's own
//! extractor and conversions, then the core's database-free checks; never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = lms_server::fuzz_api_bodies(data);
});
