// Package report renders a run (results.Run) and a comparison
// (results.Comparison) for people and for other systems.
//
// Readings of a run, for a reviewer: md (the review summary), email
// (the same as a plain-text reply), mbox (that reply as a mail
// answering the series) and html (a page with SVG charts). Data
// exports, for machines: json (the document itself), junit (JUnit XML
// for CI) and kcidb (a KCIDB v5.3 submission). Renderer.Render picks
// one by name (Formats); WriteRunDir writes a run directory.
//
// report decides nothing: whether a run earned a Tested-by, whether a
// metric changed beyond noise, why a run is incomplete are package
// results' judgements (WhyNoTrailer, the A/B tables, Incomplete), which
// every format asks and none re-decides.
package report
