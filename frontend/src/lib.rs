//! Fenrir's query frontend: the entry point of every query. It will split range queries
//! by time, shard them by stream, queue them fairly per tenant and cache results; today it
//! aligns metric range queries to their step (as Loki's frontend does) and hands them to
//! the querier in-process.
