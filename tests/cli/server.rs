//! Tests of the test API server itself: the real kubectl against it, and raw HTTP.

mod http;
mod kube_client;
mod kubectl;
mod portforward;
mod writes;
