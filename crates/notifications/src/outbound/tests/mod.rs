//! Tests of the outbound client: the address policy as a table, and real requests to real
//! local servers (hyper, on 127.0.0.1 port 0).

mod policy_table;
mod requests;
mod servers;
