// Package results is a ktest run as a document and the judging read
// from it.
//
// The document: Run and its parts, the versioned JSON schema (Schema),
// Load and Write, Merge of shards, History. The judging: Compare (with
// ConfirmFailures), the A/B tables and their verdicts (ABTables, under
// package verdict's rule), WhyNoTrailer, Incomplete and Stopped,
// Conclude.
//
// It renders nothing: package report formats runs and comparisons.
// The sentences its judgements return (why a run earns no trailer, why
// it stopped) use the few helpers in text.go.
package results
