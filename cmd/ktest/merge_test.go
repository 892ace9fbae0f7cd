package main

import (
	"regexp"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/results"
)

// TestMergedRunID: a merged run is named after its shards, not after the
// directory it is written to, which a pipeline reuses every night: two
// nights differ, the same shards in any order (a retried merge job) do not.
func TestMergedRunID(t *testing.T) {
	night := time.Date(2026, 12, 3, 2, 17, 0, 0, time.UTC)
	shard := func(id string, start time.Time, host string) *results.Run {
		return &results.Run{ID: id, Started: start, Host: results.Host{Hostname: host}}
	}
	a := []*results.Run{shard("1", night.Add(time.Minute), "runner-a"), shard("2", night, "runner-b")}
	b := []*results.Run{a[1], a[0]}
	next := []*results.Run{shard("1", night.Add(24*time.Hour), "runner-a"), shard("2", night.Add(24*time.Hour), "runner-b")}
	id := mergedRunID(a)
	if !regexp.MustCompile(`^20261203-021700-[0-9a-f]{6}$`).MatchString(id) {
		t.Errorf("id %q: want the earliest shard's start and a digest", id)
	}
	if mergedRunID(b) != id {
		t.Errorf("the same shards in another order: %s, want %s", mergedRunID(b), id)
	}
	if mergedRunID(next) == id {
		t.Errorf("the next night's merge has the same id %s: history would never compare the two", id)
	}
}
